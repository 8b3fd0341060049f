"""The node library: `REGISTRY` lists every node type Trellis can run.

One module per type; the module name is the type id, except `if_node`, `set_node` and
`switch_node` (`if` is a keyword, `set` a builtin). Registration is this explicit list.
"""

from __future__ import annotations

from runtime.nodes import (
    agent,
    approval,
    http_request,
    if_node,
    llm,
    loop,
    manual_trigger,
    merge,
    output,
    schedule_trigger,
    set_node,
    sub_workflow,
    switch_node,
    template,
    webhook_trigger,
)
from runtime.nodes.spec import NodeType, Registry

REGISTRY = Registry(
    [
        manual_trigger.NODE,
        webhook_trigger.NODE,
        schedule_trigger.NODE,
        llm.NODE,
        agent.NODE,
        http_request.NODE,
        set_node.NODE,
        template.NODE,
        if_node.NODE,
        switch_node.NODE,
        loop.NODE,
        merge.NODE,
        sub_workflow.NODE,
        approval.NODE,
        output.NODE,
    ]
)

__all__ = ["REGISTRY", "NodeType", "Registry"]
