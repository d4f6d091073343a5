import pytest
from httpmsg import Headers
from httpmsg.fields import cache_control, charset, max_age, parse_media_type


def test_media_type():
    media = parse_media_type('Text/HTML; Charset="UTF-8"; q=1')
    assert media.essence == "text/html"
    assert media.params == {"charset": "UTF-8", "q": "1"}
    with pytest.raises(ValueError):
        parse_media_type("html")


def test_cache_control_combines_fields():
    headers = Headers(
        [("Cache-Control", "public, max-age=60"), ("Cache-Control", "must-revalidate")]
    )
    assert cache_control(headers) == {"public": None, "max-age": "60", "must-revalidate": None}


def test_max_age():
    assert max_age(Headers([("Cache-Control", "max-age=60, s-maxage=300")])) == 300
    assert max_age(Headers([("Cache-Control", "no-store")])) == 0
    assert max_age(Headers()) is None


def test_max_age_with_lowercase_field_name():
    assert max_age(Headers([("cache-control", "max-age=120")])) == 120


def test_charset():
    assert charset(Headers([("Content-Type", "text/plain; charset=ISO-8859-1")])) == "iso-8859-1"
    assert charset(Headers()) == "utf-8"
