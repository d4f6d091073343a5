import pytest
from listing.query import filter_records, sort_records

RECORDS = [
    {"id": 1, "status": "open", "created": 3, "owner": "ann"},
    {"id": 2, "status": "closed", "created": 1, "owner": None},
    {"id": 3, "status": "open", "created": 2, "owner": "bob"},
    {"id": 4, "status": "draft", "created": 2, "owner": "ann"},
]


def test_filter_equals_and_in():
    assert [r["id"] for r in filter_records(RECORDS, {"status": "open"})] == [1, 3]
    filters = {"status__in": "open,draft", "owner": "ann"}
    assert [r["id"] for r in filter_records(RECORDS, filters)] == [1, 4]


def test_unknown_operator():
    with pytest.raises(ValueError):
        filter_records(RECORDS, {"id__gt": "1"})


def test_sort_multiple_fields():
    assert [r["id"] for r in sort_records(RECORDS, "-created,id")] == [1, 3, 4, 2]


def test_missing_values_last():
    assert [r["id"] for r in sort_records(RECORDS, "owner")] == [1, 4, 3, 2]
