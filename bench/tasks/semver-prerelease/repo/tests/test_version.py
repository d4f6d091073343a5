import pytest
from versions import Version


def test_parse_full():
    v = Version.parse("v1.2.3-rc.1+build.7")
    assert (v.major, v.minor, v.patch) == (1, 2, 3)
    assert (v.prerelease, v.build) == (("rc", "1"), ("build", "7"))
    assert str(v) == "1.2.3-rc.1+build.7"


@pytest.mark.parametrize("text", ["1.2", "01.2.3", "1.2.3-", "x.y.z"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        Version.parse(text)


def test_release_order():
    assert Version.parse("1.2.3") < Version.parse("1.10.0") < Version.parse("2.0.0")


def test_prerelease_before_release():
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0")


def test_build_metadata_ignored():
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")


def test_spec_precedence_example():
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
             "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    parsed = [Version.parse(v) for v in chain]
    assert sorted(reversed(parsed)) == parsed


def test_bump():
    v = Version.parse("1.4.2")
    assert (str(v.bump("major")), str(v.bump("minor")), str(v.bump("patch"))) == (
        "2.0.0", "1.5.0", "1.4.3")
    assert str(Version.parse("1.5.0-rc.1").bump("patch")) == "1.5.0"
