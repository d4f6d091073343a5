"""Time aider's RepoMap in aider's own virtual environment (run by bench/index.py).

Usage: <aider-python> bench/aider_repomap.py ROOT TOKENS TOKENIZER_JSON
Prints one JSON line: {"seconds": s, "tokens": n, "chars": n}.  Token counts use the
DeepSeek V4 tokenizer, as Fathom does, so no model hub is contacted.
"""

import json
import subprocess
import sys
import time
from pathlib import Path


class _Model:
    """What RepoMap needs of a model: a token counter."""

    def __init__(self, tokenizer_json: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(tokenizer_json)

    def token_count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def main() -> None:
    started = time.perf_counter()
    root, tokens, tokenizer_json = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    from aider.io import InputOutput
    from aider.repomap import RepoMap

    listed = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    files = [str(Path(root) / f) for f in listed]
    io = InputOutput(yes=True, pretty=False)
    repo_map = RepoMap(map_tokens=tokens, root=root, main_model=_Model(tokenizer_json), io=io)
    text = repo_map.get_repo_map(chat_files=[], other_files=files) or ""
    print(json.dumps({
        "seconds": time.perf_counter() - started,
        "tokens": _Model(tokenizer_json).token_count(text),
        "chars": len(text),
    }))


if __name__ == "__main__":
    main()
