"""Secrets are recognised by file name and by the shapes of real keys and tokens."""

from __future__ import annotations

import pytest

from tools.repo.secrets import find_secret, secret_file_reason, secret_reason


@pytest.mark.parametrize(
    "path", [".env", "config/.env.production", "deploy/id_rsa", "certs/server.pem", "a/b.key",
             ".npmrc", "home/.netrc", "prod.tfvars", "secrets.yaml"],
)
def test_secret_file_names(path: str) -> None:
    assert secret_file_reason(path) is not None


@pytest.mark.parametrize("path", [".env.example", "env.py", "keyboard.py", "README.md"])
def test_ordinary_file_names(path: str) -> None:
    assert secret_file_reason(path) is None


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ('aws_key = "AKIAIOSFODNN7EXAMPLE"', "AWS access key id"),
        ("token: ghp_" + "a1B2" * 9, "GitHub token"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "private key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
        ("SLACK=xoxb-1234567890-abcdefghij", "Slack token"),
        ("key=AIza" + "x" * 35, "Google API key"),
        ("STRIPE=sk_live_" + "a" * 24, "Stripe key"),
        ("HF=hf_" + "A" * 34, "Hugging Face token"),
        ("DEEPSEEK_API_KEY=sk-" + "0123456789abcdef" * 2, "DeepSeek API key"),
    ],
)
def test_token_shapes(text: str, label: str) -> None:
    assert find_secret(text) == f"secret: {label} at line 1"
    assert find_secret(text.encode()) == f"secret: {label} at line 1"


def test_secret_line_number_is_the_first_occurrence() -> None:
    text = "x = 1\n\nKEY = 'AKIAIOSFODNN7EXAMPLE'\n-----BEGIN EC PRIVATE KEY-----\n"
    assert find_secret(text) == "secret: AWS access key id at line 3"


@pytest.mark.parametrize(
    "text",
    [
        "def sk_live_mode(): pass",                      # too short to be a key
        "AKIA is a prefix of AWS ids",                   # no 16 characters after it
        "url = 'postgresql://scott:tiger@localhost/test'",  # an example DSN in docs
        "BEGIN PRIVATE KEY",                             # words, not a PEM header
        "ghp_short",
    ],
)
def test_ordinary_code_is_not_a_secret(text: str) -> None:
    assert find_secret(text) is None


def test_secret_reason_combines_name_and_content() -> None:
    assert secret_reason(".env", "DEBUG=1").startswith("secret file")
    assert secret_reason("app.py", "k='AKIAIOSFODNN7EXAMPLE'").startswith("secret: AWS")
    assert secret_reason("app.py", "print('hi')") is None
