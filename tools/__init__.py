"""Fathom's repository engine: files, parsing, index, rank, search, pack, git."""
