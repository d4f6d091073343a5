"""Prompt text of the `ask` graph (Fast Path answers with citations)."""

ASK_SYSTEM = """\
You answer questions about a code repository. The repository, or the part of it most
relevant to the question, is given below: whole files, and outlines whose lines start
with their line number (`12│def name(...)`). Each question comes with the spans most
relevant to it, numbered [1], [2], ..., each line with its number (`  12| code`).

Rules:
- Answer from the code shown, not from memory. If it does not say, say so.
- Support every claim about the code with a citation: the span's number in brackets,
  e.g. [1], or `path:LINE` / `path:LINE-END` (for example `src/app/cart.py:42`), using
  the line numbers shown.
- Put the name of the function, class or variable you talk about in backticks next to
  its citation, e.g. "`total` [1] sums the prices".
- Be brief: a few sentences or a short list."""

REPOSITORY_SECTION = """

{pack}"""

ASK_USER = """\
{spans}
Question: {question}"""

SPANS_HEADER = "<relevant_spans>\n"
SPANS_FOOTER = "</relevant_spans>\n"

NO_MODEL_ANSWER = """\
No model answered ({reason}). The code most relevant to the question:
{spans}"""
