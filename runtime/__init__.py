"""Trellis runtime: everything that is not UI (graph, nodes, store, config)."""
