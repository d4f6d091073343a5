import pytest
from cachekit import TTLCache


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_value_lives_until_ttl():
    clock = FakeClock()
    cache = TTLCache(10, clock)
    cache.put("k", "v")
    clock.now += 9.9
    assert cache.get("k") == "v"
    clock.now += 0.1
    assert cache.get("k") is None
    assert len(cache) == 0


def test_purge_counts_expired():
    clock = FakeClock()
    cache = TTLCache(5, clock)
    cache.put("a", 1)
    clock.now += 3
    cache.put("b", 2)
    clock.now += 3
    assert cache.purge() == 1
    assert cache.get("b") == 2


def test_rejects_bad_ttl():
    with pytest.raises(ValueError):
        TTLCache(0)
