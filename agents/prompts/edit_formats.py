'''How to write an edit, in each format `tools.edit_formats` understands (prompts as data).

`EDIT_FORMAT_PROMPTS` maps a format's name (`tools.edit_formats.FORMATS`) to the
instructions a system prompt includes; `APPLY_EDIT_DESCRIPTION` is the short form the
`apply_edit` tool carries in its schema.
'''

SEARCH_REPLACE_PROMPT = """\
Edit files with SEARCH/REPLACE blocks. Each block is: the file's path (relative to the
repository root) alone on a line, then

<<<<<<< SEARCH
the exact lines to change, copied from the file, with enough context to be unique
=======
the lines to put in their place
>>>>>>> REPLACE

Rules:
- SEARCH must match the file's current lines; copy them, do not retype them from memory.
- Keep blocks small: only the lines that change plus a few lines around them.
- Several blocks may edit the same file; they apply in order, each to the result of the
  previous one.
- To create a file, give its path and leave SEARCH empty.
- To delete lines, leave REPLACE empty.
- Every block of an edit is checked before any file is written: if one block fails,
  nothing changes, and the error says which block failed and shows the closest lines.

Example:

src/shop/cart.py
<<<<<<< SEARCH
def total(items):
    return sum(item.price for item in items)
=======
def total(items):
    return sum(item.price * item.quantity for item in items)
>>>>>>> REPLACE
"""

UNIFIED_DIFF_PROMPT = """\
Edit files with a unified diff, the way `git diff` prints one:

--- a/PATH
+++ b/PATH
@@ -START,COUNT +START,COUNT @@
 context line (starts with a space)
-removed line
+added line

Rules:
- Paths are relative to the repository root. A new file has `--- /dev/null`.
- Copy context and removed lines exactly from the file; include about three context
  lines around each change so the hunk is unique.
- Line numbers and counts in `@@` headers may be approximate: hunks are found by their
  lines, and the numbers only choose between repeated matches.
- Deleting and renaming files is not supported.
- Every hunk is checked before any file is written: if one fails, nothing changes.

Example:

--- a/src/shop/cart.py
+++ b/src/shop/cart.py
@@ -10,2 +10,2 @@
 def total(items):
-    return sum(item.price for item in items)
+    return sum(item.price * item.quantity for item in items)
"""

EDIT_FORMAT_PROMPTS: dict[str, str] = {
    "search_replace": SEARCH_REPLACE_PROMPT,
    "udiff": UNIFIED_DIFF_PROMPT,
}

APPLY_EDIT_DESCRIPTION = (
    "Change files in the repository. `format` is 'search_replace' (a path line, then "
    "'<<<<<<< SEARCH', the exact current lines, '=======', the new lines, '>>>>>>> REPLACE'; "
    "an empty SEARCH creates a file) or 'udiff' (a unified diff with '--- a/PATH', "
    "'+++ b/PATH' and '@@' hunks). All blocks are checked before anything is written; a "
    "failed block is reported with the closest lines of the file."
)
