"""Rate limiting for API clients: token buckets, sliding-window logs, keyed limiters."""
