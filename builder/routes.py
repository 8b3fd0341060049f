"""Page routes, declared once."""

WORKFLOWS = "/"
EDITOR = "/workflows/[id]"
MEMBERS = "/settings/members"
API_KEYS = "/settings/api-keys"
AUDIT = "/settings/audit"
INVITE = "/invite/[token]"


def editor_url(workflow_id: str) -> str:
    """The editor page of one workflow."""
    return f"/workflows/{workflow_id}"
