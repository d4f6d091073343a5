"""Find meeting times: merge busy intervals, list free slots, book rooms."""
