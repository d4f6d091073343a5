"""The `fix` and `repair` graphs (Slow Path): `graph` (the run and `PatchResult`),
`suspects` (where to look, without the model), `approval` (the question before the
user's branch is touched, and the answer's hunks), `report` (test runs and summaries)."""
