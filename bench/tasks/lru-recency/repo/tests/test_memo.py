from cachekit import memoize


def test_memoize_calls_once_per_argument():
    calls = []

    @memoize(capacity=4)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(2), square(2), square(3)] == [4, 4, 9]
    assert calls == [2, 3]
    assert square.cache.hits == 1


def test_memoize_keyword_order_irrelevant():
    @memoize()
    def power(base, exp=2):
        return base**exp

    assert power(2, exp=3) == 8
    assert power(2, exp=3) == 8
    assert power.cache.hits == 1


def test_memoize_evicts_least_recent():
    calls = []

    @memoize(capacity=2)
    def ident(x):
        calls.append(x)
        return x

    for value in (1, 2, 1, 3, 1):
        ident(value)
    assert calls == [1, 2, 3]
