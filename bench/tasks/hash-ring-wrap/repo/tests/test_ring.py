import pytest
from shardmap import HashRing
from shardmap.hashing import hash64

KEYS = [f"user:{n}" for n in range(2000)]


def test_hash_is_stable():
    assert hash64("abc") == 0x900150983CD24FB0


def test_empty_ring():
    with pytest.raises(LookupError):
        HashRing().node_for("x")


def test_key_maps_to_first_point_clockwise():
    ring = HashRing(["a", "b", "c"], replicas=4)
    key = "user:1"
    point = hash64(key)
    expected_points = sorted(p for p in ring._points if p > point)
    assert ring.node_for(key) == ring._owner[expected_points[0]]


def test_keys_past_the_last_point_wrap_around():
    ring = HashRing(["a", "b"], replicas=2)
    last = max(ring._points)
    key = next(k for k in KEYS if hash64(k) >= last)
    assert ring.node_for(key) == ring._owner[min(ring._points)]


def test_every_key_has_a_node():
    ring = HashRing(["a", "b", "c"], replicas=8)
    assert sum(ring.distribution(KEYS).values()) == len(KEYS)


def test_add_and_remove():
    ring = HashRing(["a"], replicas=3)
    with pytest.raises(ValueError):
        ring.add("a")
    ring.add("b")
    ring.remove("a")
    assert ring.nodes() == {"b"}
    with pytest.raises(KeyError):
        ring.remove("a")
