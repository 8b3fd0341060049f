"""Running a document once without storing it (`trellis exec`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.config import Settings
from runtime.engine import CompiledWorkflow, run_compiled
from runtime.events import MemoryEventStream
from runtime.executor.execute import run_with_limits
from runtime.executor.services import run_services
from runtime.store import RunStatus, new_id

OnEvent = Callable[[dict[str, Any]], None]


async def _never_cancelled() -> bool:
    return False


async def execute_document(
    compiled: CompiledWorkflow, trigger: dict[str, Any], settings: Settings, workspace_id: str, on_event: OnEvent
) -> tuple[RunStatus, Any, dict[str, Any] | None]:
    """Run a compiled document once, handing every event to `on_event`; returns status, output, error."""
    run_id = new_id("run")
    stream = MemoryEventStream()  # a private one: it numbers and stamps events exactly like a run's stream

    async def emit(event_type: str, node_id: str | None, data: dict[str, Any]) -> None:
        on_event((await stream.append(run_id, event_type, node_id, data)).model_dump(mode="json"))

    await emit("run_started", None, {"trigger": "cli"})
    async with run_services(settings, workspace_id, run_id, stored=False) as services:
        work = run_compiled(compiled, trigger, run_id=run_id, services=services, emit=emit)
        status, outcome, error = await run_with_limits(work, compiled.document.settings.timeout_s, _never_cancelled)
    output = outcome.output if outcome else None
    await emit("run_finished", None, {"status": status.value, "output": output, "error": error})
    return status, output, error
