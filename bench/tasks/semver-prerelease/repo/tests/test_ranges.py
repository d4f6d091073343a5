import pytest
from versions.ranges import max_satisfying, satisfies


@pytest.mark.parametrize(("version", "spec", "ok"), [
    ("1.4.0", "^1.2.3", True),
    ("2.0.0", "^1.2.3", False),
    ("0.2.9", "^0.2.3", True),
    ("0.3.0", "^0.2.3", False),
    ("1.2.9", "~1.2.3", True),
    ("1.3.0", "~1.2.3", False),
    ("1.5.0", ">=1.0.0 <2.0.0", True),
    ("3.1.0", "<2.0.0 || >=3.0.0", True),
])
def test_satisfies(version, spec, ok):
    assert satisfies(version, spec) is ok


def test_bad_term():
    with pytest.raises(ValueError):
        satisfies("1.0.0", ">>1")


def test_max_satisfying():
    assert max_satisfying(["1.2.0", "1.9.1", "2.0.0"], "^1.0.0") == "1.9.1"
    assert max_satisfying(["0.1.0"], "^1.0.0") is None


def test_max_satisfying_with_prereleases():
    candidates = ["2.0.0-rc.9", "2.0.0-rc.10", "2.0.0-rc.2"]
    assert max_satisfying(candidates, ">=2.0.0-rc.1 <2.0.0") == "2.0.0-rc.10"
