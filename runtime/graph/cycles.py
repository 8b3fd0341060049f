"""Finding cycles in a directed graph of node ids (pure; used by the validator)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence


def find_cycles(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """One concrete cycle per strongly connected group of nodes that has one.

    Each cycle is a list of node ids that starts and ends with the same id (`[a, b, a]`), starting
    at the group's earliest node in `nodes` order; edges naming ids outside `nodes` are ignored.
    """
    order = {node: position for position, node in enumerate(nodes)}
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        if source in successors and target in order:
            successors[source].append(target)
    cycles = []
    for group in _strongly_connected(nodes, successors):
        start = min(group, key=order.__getitem__)
        if len(group) > 1 or start in successors[start]:
            cycles.append(_shortest_cycle_through(start, set(group), successors))
    cycles.sort(key=lambda cycle: order[cycle[0]])
    return cycles


def _strongly_connected(nodes: Sequence[str], successors: dict[str, list[str]]) -> Iterator[list[str]]:
    # Tarjan's algorithm, iterative: canvases reach hundreds of nodes, deeper than recursion allows.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []

        def visit(node: str, work: list[tuple[str, Iterator[str]]] = work) -> None:
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            work.append((node, iter(successors[node])))

        visit(root)
        while work:
            node, pending = work[-1]
            for successor in pending:
                if successor not in index:
                    visit(successor)
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    yield group


def _shortest_cycle_through(start: str, group: set[str], successors: dict[str, list[str]]) -> list[str]:
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in successors[node]:
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if successor in group and successor not in parents:
                parents[successor] = node
                queue.append(successor)
    raise AssertionError("a strongly connected group always has a cycle through each member")
