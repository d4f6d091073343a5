"""Which tree-sitter grammar reads a file, decided from its name alone.

Names are those of ``tree-sitter-language-pack`` (``get_language(name)``). Only the file
name is looked at, never the content, so the answer is cheap and the same for a file that
does not exist yet; a file with no known name or extension gets ``None``.
"""

from __future__ import annotations

import os

# Whole file names (case-sensitive, as the tools that own them spell them).
_FILE_NAMES: dict[str, str] = {
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "Guardfile": "ruby",
    "Podfile": "ruby",
    "Vagrantfile": "ruby",
    "Brewfile": "ruby",
    ".bashrc": "bash",
    ".bash_profile": "bash",
    ".profile": "bash",
}

# Extensions, lower-cased, with the dot.
_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".sc": "scala",
    ".sh": "bash",
    ".bash": "bash",
}

TAGGED_LANGUAGES: frozenset[str] = frozenset(
    {
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "csharp",
        "ruby",
        "php",
        "kotlin",
        "swift",
        "scala",
        "bash",
    }
)
"""Languages with a tags query in ``tools/repo/queries/<language>-tags.scm``."""


def language_for_path(path: str) -> str | None:
    """Return the tree-sitter language name for a file path, or None when unknown.

    ``path`` may be absolute or relative, with ``/`` or the platform's separator; only
    its last component is used (``"src/Gemfile"`` is ``"ruby"``, ``"a/b.TSX"`` is
    ``"tsx"``).
    """
    name = path[max(path.rfind("/"), path.rfind(os.sep)) + 1 :]  # PurePath costs 10x more
    by_name = _FILE_NAMES.get(name)
    if by_name is not None:
        return by_name
    dot = name.rfind(".")
    if dot <= 0:  # no extension, or a dot-file such as ".gitignore"
        return None
    return _EXTENSIONS.get(name[dot:].lower())
