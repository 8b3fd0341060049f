"""Every Prometheus metric Trellis exports (`trellis_` prefix), and nowhere else.

Runs execute in `trellis worker` processes (and the zero-setup web process), the web server may run
several processes, and a scrape reaches only one of them: a plain counter would be seen only by
the process that incremented it. So
prometheus_client runs in multiprocess mode, where each process writes its values to mmapped files
in one folder and a scrape sums them (`runtime.ops.render_metrics`). That mode is chosen when
prometheus_client is imported, from `PROMETHEUS_MULTIPROC_DIR`, which is why this module sets the
variable before importing it (and child processes inherit it).

Labels never hold ids, users, URLs or error texts: only statuses, triggers, node types, HTTP codes
and model names, so the number of series stays small.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runtime.config import get_settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _chosen_dir() -> Path:
    """Where multiprocess values live: TRELLIS_METRICS_DIR, else PROMETHEUS_MULTIPROC_DIR, else <data_dir>/metrics."""
    settings = get_settings()
    if settings.metrics_dir is not None:
        return settings.metrics_dir.resolve()
    inherited = os.environ.get(MULTIPROC_ENV)
    return Path(inherited) if inherited else (settings.data_dir / "metrics").resolve()


os.environ[MULTIPROC_ENV] = str(_chosen_dir())


def values_dir() -> Path:
    """The folder this process writes its values to and a scrape here reads (fixed at import)."""
    return Path(os.environ[MULTIPROC_ENV])


from prometheus_client import Counter, Histogram, values  # noqa: E402

_MmapedValue = values.MultiProcessValue()


class _ValueInMetricsDir(_MmapedValue):  # type: ignore[misc, valid-type]
    """A multiprocess value that creates the metrics folder when it is first needed, not at import."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values_dir().mkdir(parents=True, exist_ok=True)
        super().__init__(*args, **kwargs)


# Every metric looks the value class up when it is created, so this covers all of ours below, even
# if something imported prometheus_client before the variable was set.
values.ValueClass = _ValueInMetricsDir

RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
NODE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

RUNS = Counter(
    "trellis_workflow_runs", "Runs that ended, by final status and what started them.", ["status", "trigger"]
)
RUN_DURATION = Histogram(
    "trellis_workflow_run_duration_seconds", "Time from a run's start to its end.", ["status"], buckets=RUN_BUCKETS
)
NODE_RUNS = Counter("trellis_node_runs", "Node attempts that ended, by node type and status.", ["node_type", "status"])
NODE_DURATION = Histogram(
    "trellis_node_duration_seconds", "Time one node attempt took.", ["node_type"], buckets=NODE_BUCKETS
)
WEBHOOK_RESPONSES = Counter("trellis_webhook_requests", "Webhook calls answered, by HTTP status code.", ["code"])
RECOVERIES = Counter(
    "trellis_run_recoveries", "Runs handed off again because nobody executed them, by why.", ["reason"]
)
LLM_TOKENS = Counter("trellis_openai_tokens", "Tokens LLM calls used, by model and kind.", ["model", "kind"])

NODE_OUTCOMES = {"node_finished": "succeeded", "node_failed": "failed", "node_skipped": "skipped"}


def count_run(status: str, trigger: str, duration_s: float | None = None) -> None:
    """Count a run that ended with `status`; `duration_s` is None for one that never started."""
    RUNS.labels(status=status, trigger=trigger).inc()
    if duration_s is not None:
        RUN_DURATION.labels(status=status).observe(duration_s)


def count_recovery(reason: str) -> None:
    """Count a run handed off again: `lease_expired` (its executor died) or `redis_reconcile` (lost from the queue)."""
    RECOVERIES.labels(reason=reason).inc()


def count_llm_tokens(model: str, prompt_tokens: int, completion_tokens: int) -> None:
    """Count the tokens one LLM call used."""
    LLM_TOKENS.labels(model=model, kind="prompt").inc(prompt_tokens)
    LLM_TOKENS.labels(model=model, kind="completion").inc(completion_tokens)


class RunMeter:
    """Counts one run and its node attempts from the events the executor emits.

    `node_types` is asked once, at the first node event, for the run's `{node_id: node_type}`
    (node events only come after the workflow compiled).
    """

    def __init__(self, trigger: str, node_types: Callable[[], Mapping[str, str]]) -> None:
        self.trigger = trigger
        self._node_types = node_types
        self._types: Mapping[str, str] | None = None
        self._began = time.perf_counter()
        self._attempts: dict[tuple[str, Any, Any], float] = {}

    def record(self, event_type: str, node_id: str | None, data: Mapping[str, Any]) -> None:
        """Take in one event; only node starts and ends count."""
        if node_id is None:
            return
        key = (node_id, data.get("attempt", 1), data.get("item_index"))
        if event_type == "node_started":
            self._attempts[key] = time.perf_counter()
            return
        outcome = NODE_OUTCOMES.get(event_type)
        if outcome is None:
            return
        node_type = self._type_of(node_id)
        NODE_RUNS.labels(node_type=node_type, status=outcome).inc()
        began = self._attempts.pop(key, None)
        if began is not None:
            NODE_DURATION.labels(node_type=node_type).observe(time.perf_counter() - began)

    def finish(self, status: str) -> None:
        """Count the run as ended with `status`."""
        count_run(status, self.trigger, time.perf_counter() - self._began)

    def _type_of(self, node_id: str) -> str:
        if self._types is None:
            self._types = self._node_types()
        return self._types.get(node_id, "unknown")
