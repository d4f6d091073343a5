import pytest
from metrics.histogram import bins, render


def test_bins_put_max_in_last_bin():
    assert bins([0, 1, 2, 3, 4], 2) == [(0, 2, 2), (2, 4, 3)]


def test_bins_of_constant_values():
    assert bins([7, 7], 3)[0] == (7, 8.0, 2)


def test_bins_errors_and_empty():
    with pytest.raises(ValueError):
        bins([1], 0)
    assert bins([], 3) == []


def test_render():
    text = render([1, 1, 1, 2], count=2, bar_width=6)
    assert text.splitlines() == [
        "     1.0 -      1.5 | ###### 3",
        "     1.5 -      2.0 | ##     1",
    ]
    assert render([]) == "(no data)"
