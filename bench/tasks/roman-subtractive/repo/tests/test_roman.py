import pytest
from numerals.roman import from_roman, to_roman


@pytest.mark.parametrize(("number", "numeral"), [
    (1, "I"), (4, "IV"), (9, "IX"), (14, "XIV"), (40, "XL"), (90, "XC"),
    (400, "CD"), (1994, "MCMXCIV"), (3999, "MMMCMXCIX"),
])
def test_to_roman(number, numeral):
    assert to_roman(number) == numeral


def test_to_roman_range():
    with pytest.raises(ValueError):
        to_roman(0)
    with pytest.raises(ValueError):
        to_roman(4000)


@pytest.mark.parametrize(("numeral", "number"), [("iv", 4), ("XLII", 42), ("MCMXCIV", 1994)])
def test_from_roman_subtractive(numeral, number):
    assert from_roman(numeral) == number


def test_from_roman_repeated_symbols():
    assert from_roman("III") == 3
    assert from_roman("MMXXIII") == 2023


@pytest.mark.parametrize("numeral", ["IIII", "VX", "", "ABC"])
def test_from_roman_rejects(numeral):
    with pytest.raises(ValueError):
        from_roman(numeral)
