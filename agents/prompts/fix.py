"""Prompt text of the `fix` and `repair` graphs (Slow Path patching and test repair)."""

from agents.prompts.edit_formats import SEARCH_REPLACE_PROMPT

PLAN_SYSTEM = """\
You are a careful software engineer planning a change to a repository. Read the task,
the repository map and any failing tests, then write a short plan: which files and
functions are involved, what must change, and how the tests will show it works. Do not
write code yet."""

PLAN_USER = """\
Task: {task}

Repository map (the most important definitions; `LINE│signature`):
{repo_map}

{tests}"""

EDIT_SYSTEM = """\
You are a careful software engineer changing a repository, working in a git worktree on
a branch of its own. Use the tools: read files before editing them, make the smallest
change that does the task, and keep the code's style. Edits go through `apply_edit`.

""" + SEARCH_REPLACE_PROMPT + """
When the change is complete, reply without calling any tool, with a one-paragraph
summary of what you changed and why. The tests and a syntax check run after you stop;
if they fail you will be told, and you continue."""

TASK_FIX = """\
Task: {task}

Plan:
{plan}

Where to look (most suspicious first):
{suspects}

{tests}"""

TASK_REPAIR = """\
Task: make the failing tests pass without weakening them (do not edit tests unless a
test is itself wrong, and say so if you do).

Plan:
{plan}

Where to look (most suspicious first):
{suspects}

{tests}"""

REPAIR_PLAN_TASK = "Make the failing tests pass: {command}"

TESTS_BEFORE = """\
Tests before any change (`{command}`): {status}
{failures}"""

NO_TESTS = "No test command is configured: the change is checked for syntax errors only."

CHECK_FAILED = """\
Your edit left files that do not parse:
{errors}
Fix them."""

TESTS_FAILED = """\
The tests still fail after your change (`{command}`): {status}
{failures}
Continue: find the cause and fix it."""

NOTHING_LOCATED = "(nothing located; search the repository)"
