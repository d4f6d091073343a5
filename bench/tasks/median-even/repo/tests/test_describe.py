import pytest
from metrics.describe import Summary, mean, median, percentile, summarise, variance


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5
    with pytest.raises(ValueError):
        mean([])


def test_median_odd():
    assert median([5, 1, 3]) == 3


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5
    assert median([10, 20]) == 15


def test_variance():
    assert variance([2, 4, 4, 4, 5, 5, 7, 9], sample=False) == 4
    assert variance([1, 3]) == 2
    with pytest.raises(ValueError):
        variance([1])


def test_percentile_interpolates():
    values = [10, 20, 30, 40]
    assert percentile(values, 0) == 10
    assert percentile(values, 50) == 25
    assert percentile(values, 100) == 40
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summarise_odd_sample():
    assert summarise([120, 80, 100]) == Summary(3, 100.0, 100.0, 118.0, 120)


def test_summarise_even_sample():
    assert summarise([1, 2, 3, 10]).median == 2.5
