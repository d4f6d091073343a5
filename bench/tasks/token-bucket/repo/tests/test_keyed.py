from throttle.keyed import Decision, KeyedLimiter


def test_keys_are_independent(clock):
    limiter = KeyedLimiter(rate=1, burst=1, clock=clock)
    assert limiter.check("alice").allowed
    assert limiter.check("bob").allowed
    assert limiter.check("alice") == Decision(False, 1.0)


def test_idle_client_gets_only_the_burst(clock):
    limiter = KeyedLimiter(rate=10, burst=5, clock=clock)
    limiter.check("alice")
    clock.advance(60)
    results = [limiter.check("alice").allowed for _ in range(6)]
    assert results == [True] * 5 + [False]


def test_forget_idle(clock):
    limiter = KeyedLimiter(rate=1, burst=1, clock=clock)
    limiter.check("a")
    clock.advance(5)
    limiter.check("b")
    assert limiter.forget_idle(5) == ["a"]
