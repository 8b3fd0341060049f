"""Reflex configuration: reads Trellis settings, nothing else."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from runtime.config import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="builder",
    frontend_port=_settings.port,
    backend_port=_settings.port,
    show_built_with_reflex=False,
    telemetry_enabled=False,
    # The websocket (`/_event`) carries the session cookie: only our own pages may open it (never `*`).
    cors_allowed_origins=_settings.allowed_origins,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[SitemapPlugin],
)
