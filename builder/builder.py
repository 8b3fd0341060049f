"""The Trellis web app: pages, and the HTTP API mounted in front of Reflex's own routes."""

import reflex as rx

from builder import routes
from builder.api import create_api
from builder.pages.account import AccountState
from builder.pages.api_keys import api_keys_page
from builder.pages.audit import audit_page
from builder.pages.credentials import credentials_page
from builder.pages.editor import editor_page
from builder.pages.invite import invite_page
from builder.pages.members import members_page
from builder.pages.signin import login_page, setup_page
from builder.pages.workflows import workflows_page
from builder.schedules import scheduler_in_default_mode
from builder.state.api_keys import ApiKeysState
from builder.state.audit import AuditState
from builder.state.credentials import CredentialsState
from builder.state.editor import EditorState
from builder.state.invite import InviteState
from builder.state.members import MembersState
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
app.add_page(members_page, route=routes.MEMBERS, title="Members · Trellis", on_load=MembersState.load)
app.add_page(api_keys_page, route=routes.API_KEYS, title="API keys · Trellis", on_load=ApiKeysState.load)
app.add_page(audit_page, route=routes.AUDIT, title="Audit log · Trellis", on_load=AuditState.load)
app.add_page(invite_page, route=routes.INVITE, title="Invitation · Trellis", on_load=InviteState.open)
app.register_lifespan_task(scheduler_in_default_mode)
