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
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[SitemapPlugin],
)
