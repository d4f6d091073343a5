"""Recognise secrets — by file name and by the known shapes of keys and tokens.

A file that is or holds a secret is never packed into a model's context; the reason
(what was found, on which line) goes into the pack manifest instead.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

# File names that hold secrets whatever their content.
SECRET_FILE_PATTERNS: tuple[str, ...] = (
    ".env", ".env.*", "*.env", ".envrc", ".netrc", "_netrc", ".pgpass", ".pypirc",
    ".npmrc", ".git-credentials", ".htpasswd", "credentials", "credentials.json",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.ppk", "*.asc",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.tfvars", "secrets.y*ml",
)
# Templates that document variables without values.
_SAFE_ENV_NAMES = (".env.example", ".env.sample", ".env.template", ".env.dist")

# Known token shapes: (label, literal anchors, pattern). A shape's regex runs only when
# one of its anchors occurs in the text: ``str.__contains__`` scans at memory speed,
# while one big alternation costs Python's regex engine seconds on a large repository.
# Patterns are specific enough that ordinary code and documentation do not trip them.
_TOKEN_SHAPES: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes]], ...] = tuple(
    (label, tuple(a.encode() for a in anchors), re.compile(pattern.encode()))
    for label, anchors, pattern in (
        ("private key", ("PRIVATE KEY",), r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        ("AWS access key id", ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA"),
         r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"),
        ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
         r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b"),
        ("GitLab token", ("glpat-",), r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
        ("Slack token", ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"),
         r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
        ("Slack webhook", ("hooks.slack.com/services/",),
         r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/\w+"),
        ("Google API key", ("AIza",), r"\bAIza[0-9A-Za-z_-]{35}\b"),
        ("OpenAI key", ("T3BlbkFJ",),
         r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}\b"),
        ("Anthropic key", ("sk-ant-",), r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}\b"),
        ("DeepSeek API key", ("sk-",), r"\bsk-[a-f0-9]{32}\b"),
        ("Stripe key", ("sk_live_", "rk_live_"), r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b"),
        ("Hugging Face token", ("hf_",), r"\bhf_[A-Za-z0-9]{34,}\b"),
        ("npm token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("PyPI token", ("pypi-AgEIcHlwaS5vcmc",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}\b"),
        ("SendGrid key", ("SG.",), r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
        ("JSON web token", ("eyJ",),
         r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    )
)


def secret_file_reason(path: str) -> str | None:
    """Why a file name alone marks a secret (``"secret file: .env"``), or None."""
    name = PurePosixPath(path).name
    if name in _SAFE_ENV_NAMES:
        return None
    for pattern in SECRET_FILE_PATTERNS:
        if fnmatchcase(name, pattern):
            return f"secret file: name matches {pattern!r}"
    return None


def find_secret(content: str | bytes) -> str | None:
    """Describe the earliest known secret shape in ``content`` (kind, 1-based line), or None.

    Bytes are scanned as they are (the index passes a file's raw bytes): searching bytes
    is several times faster than searching decoded text with non-ASCII characters.
    """
    data = content.encode("utf-8", "replace") if isinstance(content, str) else content
    first: tuple[int, str] | None = None
    for label, anchors, pattern in _TOKEN_SHAPES:
        if not any(anchor in data for anchor in anchors):
            continue
        match = pattern.search(data)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), label)
    if first is None:
        return None
    line = data.count(b"\n", 0, first[0]) + 1
    return f"secret: {first[1]} at line {line}"


def secret_reason(path: str, content: str | bytes) -> str | None:
    """Why a file must never be packed — its name or a secret in its content — or None."""
    return secret_file_reason(path) or find_secret(content)
