"""The `ask` graph (Fast Path): `graph` (retrieve → answer → verify, and `AskResult`)
and `context` (the numbered spans and the packed repository a question gets)."""
