import pytest
from listing.paginate import page_count, page_links, paginate

ITEMS = list(range(1, 46))


def test_page_count():
    assert page_count(40, 20) == 2
    assert page_count(0, 20) == 1
    assert page_count(41, 20) == 3
    with pytest.raises(ValueError):
        page_count(10, 0)


def test_first_page():
    page = paginate(ITEMS, 1, 20)
    assert page.items == list(range(1, 21))
    assert (page.has_previous, page.has_next) == (False, True)


def test_last_partial_page():
    page = paginate(ITEMS, 3, 20)
    assert page.items == [41, 42, 43, 44, 45]
    assert page.total_pages == 3
    assert not page.has_next


def test_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        paginate(ITEMS, 4, 20)


def test_empty_listing():
    page = paginate([], 1, 20)
    assert page.items == [] and page.total_pages == 1


def test_links():
    page = paginate(list(range(40)), 2, 20)
    assert page_links(page, "/api/items") == {
        "first": "/api/items?page=1&per_page=20",
        "last": "/api/items?page=2&per_page=20",
        "prev": "/api/items?page=1&per_page=20",
    }
