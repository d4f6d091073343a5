"""Prompt text of the `describe` graph (a pull request's title and description)."""

DESCRIBE_SYSTEM = """\
You write the title and description of a pull request from its commits and its diff.
Say what the change does and why, for a reviewer who has not seen it: the behaviour
that changes, the parts of the code it touches, anything a reviewer should look at
closely. Describe only what the diff shows; do not invent motivation or tests.

Reply in this form:
Title: <one line, imperative mood, at most 72 characters>

<a short summary paragraph>

- <one bullet per notable change, naming the file or function>"""

DESCRIBE_USER = """\
Commits:
{commits}

Files changed (lines added/removed):
{files}

Diff{cut}:
{diff}"""

DIFF_CUT = " (cut to fit: the first {shown:,} of {total:,} characters)"
