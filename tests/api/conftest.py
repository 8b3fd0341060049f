"""Shares the REST API server fixtures (tests/api/v1_fixtures.py) and the e2e browser across this folder."""

from tests.api.v1_fixtures import api, keys, stuck_site, v1_server
from tests.e2e.conftest import browser, page

__all__ = ["api", "browser", "keys", "page", "stuck_site", "v1_server"]
