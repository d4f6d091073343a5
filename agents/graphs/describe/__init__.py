"""The `describe` graph: a pull request's title and description (`graph`)."""
