"""Prompt text of the `review` graph (findings with evidence, then a self-check)."""

REVIEW_SYSTEM = """\
You review a change to a code repository. Report only real problems the change
introduces: bugs, broken behaviour, security issues, missing error handling. No style
nits, no praise.

Every finding needs evidence of one kind:
- "quote": a line of the new code, copied exactly, that shows the problem;
- "test": the id of a failing test listed below;
- "lint": a lint or syntax error listed below.

Reply with a JSON array only, possibly empty:
[{"path": "src/x.py", "line": 12, "severity": "error" | "warning",
  "message": "what is wrong and why",
  "evidence": {"kind": "quote" | "test" | "lint", "text": "..."}}]"""

REVIEW_USER = """\
Change under review: {base}..{head}

{diff}

Lint and syntax checks of the changed files:
{lint}

Failing tests at {head}:
{tests}"""

JSON_RETRY = """\
Your reply could not be read: {error}
Reply again with the JSON array only."""

SELF_CHECK_SYSTEM = """\
You check a code review before it is posted. For each finding, decide whether its
evidence really shows the problem it claims. Keep only findings you can support; drop
anything speculative, duplicated or about unchanged code. Reply with a JSON array of
the numbers of the findings to keep, e.g. [1, 3], possibly empty."""

SELF_CHECK_USER = """\
The change:
{diff}

Findings:
{findings}"""
