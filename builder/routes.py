"""Page routes, declared once."""

WORKFLOWS = "/"
EDITOR = "/workflows/[id]"
LOGIN = "/login"
SETUP = "/setup"
CREDENTIALS = "/settings/credentials"
MEMBERS = "/settings/members"
API_KEYS = "/settings/api-keys"
AUDIT = "/settings/audit"
INVITE = "/invite/[token]"


def editor_url(workflow_id: str) -> str:
    """The editor page of one workflow."""
    return f"/workflows/{workflow_id}"


def invite_url(public_url: str, token: str) -> str:
    """The link that lets the invited person join: `<public url>/invite/<token>`."""
    return f"{public_url.rstrip('/')}/invite/{token}"
