"""Whole-repository understanding: discover, parse, index, rank, map, search and pack."""
