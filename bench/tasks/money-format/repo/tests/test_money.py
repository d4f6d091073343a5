from decimal import Decimal

import pytest
from ledger import Money, get_currency

USD = get_currency("usd")
JPY = get_currency("JPY")


def test_parse_plain_and_grouped():
    assert Money.parse("12.5", "USD") == Money(1250, USD)
    assert Money.parse("1,234.56", "usd") == Money(123456, USD)


def test_parse_accounting_negative():
    assert Money.parse("(12.00)", "USD") == Money(-1200, USD)


def test_parse_rounds_half_up():
    assert Money.parse("0.125", "USD") == Money(13, USD)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="not an amount"):
        Money.parse("twelve", "USD")


def test_unknown_currency():
    with pytest.raises(ValueError, match="unknown currency"):
        get_currency("XXX")


def test_add_and_subtract():
    assert Money(150, USD) + Money(275, USD) == Money(425, USD)
    assert Money(150, USD) - Money(275, USD) == Money(-125, USD)
    assert -Money(5, USD) == Money(-5, USD)


def test_mixing_currencies_fails():
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, USD) + Money(1, JPY)


def test_multiply_rounds():
    assert Money(1000, USD).multiply(Decimal("0.075")) == Money(75, USD)
    assert Money(999, USD).multiply("0.5") == Money(500, USD)


def test_allocate_even_and_uneven():
    assert [m.minor for m in Money(100, USD).allocate([1, 1, 1])] == [34, 33, 33]
    assert [m.minor for m in Money(1000, USD).allocate([3, 7])] == [300, 700]


def test_allocate_rejects_bad_ratios():
    with pytest.raises(ValueError):
        Money(100, USD).allocate([0, 0])


def test_format_thousands():
    assert Money(123456, USD).format() == "$1,234.56"


def test_format_negative():
    assert Money(-310, get_currency("EUR")).format() == "-€3.10"


def test_format_without_decimals():
    assert Money(500, JPY).format() == "¥500"


def test_format_pads_small_fractions():
    assert Money(105, USD).format() == "$1.05"
    assert Money(1005, get_currency("KWD")).format() == "KD 1.005"
