"""The engine: `compile_workflow` turns a workflow document into LangGraph graphs, `run_compiled` runs one."""

from __future__ import annotations

from runtime.engine.compiler import CompiledWorkflow, compile_workflow
from runtime.engine.runner import RunOutcome, run_compiled
from runtime.engine.state import EngineEmit

__all__ = ["CompiledWorkflow", "EngineEmit", "RunOutcome", "compile_workflow", "run_compiled"]
