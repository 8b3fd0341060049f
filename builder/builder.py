"""The Trellis web app: pages, and the HTTP API mounted in front of Reflex's own routes."""

import reflex as rx

from builder import routes
from builder.api import create_api
from builder.pages.credentials import credentials_page
from builder.pages.editor import editor_page
from builder.pages.workflows import workflows_page
from builder.schedules import scheduler_in_default_mode
from builder.state.credentials import CredentialsState
from builder.state.editor import EditorState
from builder.state.workflows import WorkflowListState

app = rx.App(theme=rx.theme(accent_color="iris", radius="medium"), api_transformer=create_api())
app.add_page(workflows_page, route=routes.WORKFLOWS, title="Workflows · Trellis", on_load=WorkflowListState.load)
app.add_page(editor_page, route=routes.EDITOR, title="Editor · Trellis", on_load=EditorState.open_editor)
app.add_page(credentials_page, route=routes.CREDENTIALS, title="Credentials · Trellis", on_load=CredentialsState.load)
app.register_lifespan_task(scheduler_in_default_mode)
