from itertools import pairwise

from runtime.graph.cycles import find_cycles


def test_a_chain_has_no_cycles():
    assert find_cycles(["a", "b", "c"], [("a", "b"), ("b", "c")]) == []


def test_each_cycle_is_reported_once_starting_at_its_earliest_node():
    edges = [("b", "c"), ("c", "b"), ("d", "d"), ("a", "b")]
    assert find_cycles(["a", "b", "c", "d"], edges) == [["b", "c", "b"], ["d", "d"]]


def test_the_shortest_cycle_through_the_start_is_shown():
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("b", "a")]
    assert find_cycles(["a", "b", "c", "d"], edges) == [["a", "b", "a"]]


def test_edges_to_unlisted_nodes_are_ignored():
    assert find_cycles(["a", "b"], [("a", "x"), ("x", "a"), ("a", "b")]) == []


def test_long_graphs_do_not_hit_the_recursion_limit():
    ids = [f"n{i}" for i in range(5000)]
    edges = [*pairwise(ids), (ids[-1], ids[0])]
    (cycle,) = find_cycles(ids, edges)
    assert len(cycle) == 5001
