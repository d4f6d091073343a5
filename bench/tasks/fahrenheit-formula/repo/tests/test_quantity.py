import pytest
from unitconv import Quantity, convert, parse


def test_parse_variants():
    assert parse("72 F") == Quantity(72.0, "F")
    assert parse("5.5km") == Quantity(5.5, "km")
    assert parse("-3 °celsius") == Quantity(-3.0, "C")
    with pytest.raises(ValueError):
        parse("lots of km")


def test_lengths_and_masses():
    assert convert("1 mi", "km").value == pytest.approx(1.609344)
    assert convert("2 lbs", "kg").value == pytest.approx(0.90718474)
    assert str(convert("12 in", "ft")) == "1 ft"


def test_temperature_round_trip():
    assert str(convert("20 C", "F")) == "68°F"
    assert str(convert("68 F", "C")) == "20°C"


def test_incompatible_units():
    with pytest.raises(ValueError, match="cannot convert"):
        convert("3 kg", "m")
    with pytest.raises(ValueError, match="unknown unit"):
        convert("3 kg", "stone")
