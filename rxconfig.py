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
    # Queue mode keeps page sessions in Redis, so any web process (and any of its server processes)
    # can serve any event of any tab; without Redis they stay in the one process's memory.
    redis_url=_settings.redis_url,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[SitemapPlugin],
)
