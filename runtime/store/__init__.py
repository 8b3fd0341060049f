"""Persistence: SQLModel tables, engine and sessions, migrations and the workflow store functions.

Importing this package registers every table on `SQLModel.metadata`; it opens no connection.
"""

from runtime.store.accounts import ApiKey, Member, Membership, Role, User, Workspace, ensure_local_workspace
from runtime.store.approvals import Approval, ApprovalStatus
from runtime.store.audit import AuditEvent, record_audit
from runtime.store.columns import new_id, utcnow
from runtime.store.credentials import (
    Credential,
    create_credential,
    credential_usage,
    delete_credential,
    get_credential,
    list_credentials,
)
from runtime.store.engine import (
    get_engine,
    limit_transaction,
    make_engine,
    process_tag,
    session_label,
    session_limits,
    session_scope,
)
from runtime.store.idempotency import IdempotencyKey
from runtime.store.identities import UserIdentity, link_identity, real_account_exists, user_for_identity
from runtime.store.invites import Invite
from runtime.store.login_sessions import LoginSession, close_login_session, member_for_token, open_login_session
from runtime.store.migrate import current_revision, ensure_database, upgrade_database
from runtime.store.runs import NodeRun, NodeRunStatus, Run, RunStatus, RunTrigger
from runtime.store.schedules import Schedule, ScheduleTick, sync_schedules
from runtime.store.secret_canary import SecretCanary
from runtime.store.webhooks import Webhook, WebhookDelivery, get_webhook_for_node, sync_webhooks
from runtime.store.workflows import (
    InvalidValueError,
    Workflow,
    WorkflowVersion,
    create_workflow,
    delete_workflow,
    duplicate_workflow,
    get_version,
    get_workflow,
    latest_version,
    list_versions,
    list_workflows,
    rename_workflow,
    save_version,
)

__all__ = [
    "ApiKey",
    "Approval",
    "ApprovalStatus",
    "AuditEvent",
    "Credential",
    "create_credential",
    "credential_usage",
    "delete_credential",
    "get_credential",
    "list_credentials",
    "IdempotencyKey",
    "InvalidValueError",
    "Invite",
    "LoginSession",
    "Member",
    "Membership",
    "NodeRun",
    "NodeRunStatus",
    "Role",
    "Run",
    "RunStatus",
    "RunTrigger",
    "Schedule",
    "ScheduleTick",
    "SecretCanary",
    "User",
    "UserIdentity",
    "Webhook",
    "WebhookDelivery",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
    "close_login_session",
    "create_workflow",
    "current_revision",
    "delete_workflow",
    "duplicate_workflow",
    "ensure_database",
    "ensure_local_workspace",
    "get_engine",
    "get_version",
    "get_webhook_for_node",
    "get_workflow",
    "latest_version",
    "list_versions",
    "link_identity",
    "list_workflows",
    "limit_transaction",
    "make_engine",
    "member_for_token",
    "new_id",
    "open_login_session",
    "process_tag",
    "record_audit",
    "real_account_exists",
    "rename_workflow",
    "save_version",
    "session_label",
    "session_limits",
    "session_scope",
    "sync_schedules",
    "user_for_identity",
    "sync_webhooks",
    "upgrade_database",
    "utcnow",
]
