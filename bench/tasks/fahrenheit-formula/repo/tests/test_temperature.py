import pytest
from unitconv.temperature import from_celsius, to_celsius


def test_celsius_to_others():
    assert from_celsius(100, "F") == 212
    assert from_celsius(0, "K") == pytest.approx(273.15)


def test_fahrenheit_to_celsius():
    assert to_celsius(212, "F") == pytest.approx(100)
    assert to_celsius(32, "F") == pytest.approx(0)


def test_kelvin_to_celsius():
    assert to_celsius(0, "K") == pytest.approx(-273.15)


def test_below_absolute_zero():
    with pytest.raises(ValueError, match="absolute zero"):
        to_celsius(-1, "K")


def test_unknown_unit():
    with pytest.raises(ValueError):
        to_celsius(1, "R")
