import pytest
from httpmsg import Headers

RAW = "Host: example.org\r\nAccept: text/html\r\naccept: application/json\r\nX-Id: 7\r\n"


def test_parse_and_lookup_any_case():
    headers = Headers.parse(RAW)
    assert headers["host"] == "example.org"
    assert headers.get("ACCEPT") == "text/html, application/json"
    assert headers.get_all("Accept") == ["text/html", "application/json"]
    assert len(headers) == 4


def test_membership_ignores_case():
    headers = Headers.parse(RAW)
    assert "x-id" in headers
    assert "HOST" in headers
    assert "Cookie" not in headers


def test_missing_header():
    with pytest.raises(KeyError):
        Headers()["Host"]
    assert Headers().get("Host", "none") == "none"


def test_remove():
    headers = Headers.parse(RAW)
    assert headers.remove("ACCEPT") == 2
    assert list(headers) == [("Host", "example.org"), ("X-Id", "7")]


@pytest.mark.parametrize("block", ["Host example.org", " folded: x", "Bad : x"])
def test_malformed(block):
    with pytest.raises(ValueError):
        Headers.parse(block)
