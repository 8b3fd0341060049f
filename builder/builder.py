"""The Trellis web app: pages (and, in later issues, the HTTP API)."""

import reflex as rx

from builder import routes
from builder.pages.workflows import workflows_page
from builder.state.workflows import WorkflowListState

app = rx.App(theme=rx.theme(accent_color="iris", radius="medium"))
app.add_page(workflows_page, route=routes.WORKFLOWS, title="Workflows · Trellis", on_load=WorkflowListState.load)
