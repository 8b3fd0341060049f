"""Approvals at run time: `desk` (what a run's approval nodes use), `decide` (decisions) and `sweep` (timeouts).

Import the modules themselves: the executor imports `desk`, and `decide` imports the executor.
"""
