"""One answer to "may this file be shown": binaries and secrets never are."""

from __future__ import annotations

from tools.repo.files import content_skip_reason
from tools.repo.showable import BINARY, BINARY_SNIFF, hidden_reason, is_binary

TOKEN = "ghp_" + "a1B2" * 9  # a GitHub token's shape


def test_text_is_shown_and_binaries_and_secrets_are_not() -> None:
    assert hidden_reason("src/app.py", b"def f():\n    return 1\n") is None
    assert hidden_reason("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR") == BINARY
    assert hidden_reason(".env", b"DEBUG=1\n") == "secret file: name matches '.env'"
    assert hidden_reason("config.py", f"KEY = '{TOKEN}'\n".encode()) == \
        "secret: GitHub token at line 1"
    assert hidden_reason(".env.example", b"KEY=\n") is None  # a template, not a secret


def test_binary_means_a_nul_byte_in_the_first_sniff_bytes() -> None:
    assert is_binary(b"a" * (BINARY_SNIFF - 1) + b"\0")
    assert not is_binary(b"a" * BINARY_SNIFF + b"\0")
    assert content_skip_reason(b"a\0b") == "binary"  # the index uses the same test
