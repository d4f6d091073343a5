"""Text helpers for search result listings."""
