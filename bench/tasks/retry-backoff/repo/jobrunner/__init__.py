"""Run background jobs by priority, retrying failures with exponential backoff."""
