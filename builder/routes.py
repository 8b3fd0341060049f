"""Page routes, declared once."""

WORKFLOWS = "/"
EDITOR = "/workflows/[id]"
LOGIN = "/login"
SETUP = "/setup"
CREDENTIALS = "/settings/credentials"


def editor_url(workflow_id: str) -> str:
    """The editor page of one workflow."""
    return f"/workflows/{workflow_id}"
