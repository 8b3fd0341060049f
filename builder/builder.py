"""The Trellis web app: pages, and the HTTP API mounted in front of Reflex's own routes."""

import reflex as rx

from builder import routes
from builder.api import create_api
from builder.pages.account import AccountState
from builder.pages.credentials import credentials_page
from builder.pages.editor import editor_page
from builder.pages.signin import login_page, setup_page
from builder.pages.workflows import workflows_page
from builder.schedules import scheduler_in_default_mode
from builder.state.credentials import CredentialsState
from builder.state.editor import EditorState
from builder.state.signin import LoginState, SetupState
from builder.state.workflows import WorkflowListState

app = rx.App(theme=rx.theme(accent_color="iris", radius="medium"), api_transformer=create_api())
app.add_page(
    workflows_page,
    route=routes.WORKFLOWS,
    title="Workflows · Trellis",
    on_load=[WorkflowListState.load, AccountState.load],
)
app.add_page(
    editor_page, route=routes.EDITOR, title="Editor · Trellis", on_load=[EditorState.open_editor, AccountState.load]
)
app.add_page(login_page, route=routes.LOGIN, title="Sign in · Trellis", on_load=LoginState.load)
app.add_page(setup_page, route=routes.SETUP, title="Set up · Trellis", on_load=SetupState.load)
app.add_page(credentials_page, route=routes.CREDENTIALS, title="Credentials · Trellis", on_load=CredentialsState.load)
app.register_lifespan_task(scheduler_in_default_mode)
