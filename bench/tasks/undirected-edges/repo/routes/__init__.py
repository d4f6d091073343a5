"""Weighted graphs and the algorithms a route planner needs."""

from routes.graph import Graph

__all__ = ["Graph"]
