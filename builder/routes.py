"""Page routes, declared once."""

WORKFLOWS = "/"
