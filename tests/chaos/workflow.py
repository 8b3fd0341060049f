"""The chaos workflow: a manual trigger, then five `http_request` nodes in a chain, each calling the
counting server at `/<trigger.body.n>/<node id>`."""

from __future__ import annotations

from typing import Any

from tests.chaos.counting_server import CountingServer
from tests.runtime.executor.test_in_process import document

CHAIN = ("n1", "n2", "n3", "n4", "n5")
"""The five `http_request` nodes after the trigger, in order."""


def five_calls(server: CountingServer) -> dict[str, Any]:
    """The workflow document; a run started with input `{"n": tag}` calls `/<tag>/n1` ... `/<tag>/n5`."""
    calls = [{"id": node_id, "type": "http_request", "params": {"url": server.url("{{ trigger.body.n }}", node_id),
                                                                 "timeout_s": 120}} for node_id in CHAIN]  # fmt: skip
    return document([{"id": "start", "type": "manual_trigger"}, *calls], timeout_s=600)
