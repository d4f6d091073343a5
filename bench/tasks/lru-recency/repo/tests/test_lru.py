import pytest
from cachekit import LRUCache


def test_rejects_zero_capacity():
    with pytest.raises(ValueError):
        LRUCache(0)


def test_put_and_get():
    cache = LRUCache(2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("missing", "dflt") == "dflt"
    assert (cache.hits, cache.misses) == (1, 1)


def test_evicts_oldest_when_full():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert "a" not in cache
    assert list(cache) == ["b", "c"]
    assert cache.evictions == 1


def test_put_existing_refreshes_recency():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert list(cache) == ["a", "c"]
    assert cache.get("a") == 10


def test_get_refreshes_recency():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert "a" in cache
    assert "b" not in cache


def test_pop_and_clear():
    cache = LRUCache(3)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.pop("a") == 1
    assert cache.pop("a", None) is None
    cache.clear()
    assert len(cache) == 0


def test_hit_rate():
    cache = LRUCache(1)
    assert cache.hit_rate == 0.0
    cache.put("k", "v")
    cache.get("k")
    cache.get("x")
    assert cache.hit_rate == 0.5
