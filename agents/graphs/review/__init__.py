"""The `review` graph: `graph` (collect → review → self-check → report, and
`ReviewResult`) and `evidence` (numbered diffs, findings read and their evidence checked)."""
