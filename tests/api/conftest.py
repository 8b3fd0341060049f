"""Shares the REST API server fixtures (tests/api/v1_fixtures.py) across the modules of this folder."""

from tests.api.v1_fixtures import api, keys, stuck_site, v1_server

__all__ = ["api", "keys", "stuck_site", "v1_server"]
