import pytest
from throttle.bucket import TokenBucket


def test_full_bucket_allows_burst_then_refuses(clock):
    bucket = TokenBucket(rate=1, capacity=3, clock=clock)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_refills_over_time(clock):
    bucket = TokenBucket(rate=2, capacity=2, clock=clock)
    bucket.allow(2)
    clock.advance(0.5)
    assert bucket.allow()
    assert not bucket.allow()


def test_burst_is_capped_after_idle(clock):
    bucket = TokenBucket(rate=1, capacity=3, clock=clock)
    clock.advance(100)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_wait_time(clock):
    bucket = TokenBucket(rate=4, capacity=1, clock=clock)
    assert bucket.wait_time() == 0
    bucket.allow()
    assert bucket.wait_time() == pytest.approx(0.25)


def test_cost_above_capacity_is_an_error(clock):
    with pytest.raises(ValueError):
        TokenBucket(rate=1, capacity=2, clock=clock).allow(3)
