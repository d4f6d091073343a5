import pytest
from ledger import Money, get_currency
from ledger.split import split_bill, summary, with_tip

USD = get_currency("USD")


def test_with_tip():
    assert with_tip(Money(4000, USD), 15) == Money(4600, USD)


def test_split_even():
    shares = split_bill(Money(9000, USD), ["ann", "bob", "cy"])
    assert {name: m.minor for name, m in shares.items()} == {"ann": 3000, "bob": 3000, "cy": 3000}


def test_split_odd_cents_go_first():
    shares = split_bill(Money(1000, USD), ["ann", "bob", "cy"], percent=0)
    assert [m.minor for m in shares.values()] == [334, 333, 333]


def test_split_rejects_duplicates():
    with pytest.raises(ValueError, match="twice"):
        split_bill(Money(100, USD), ["ann", "ann"])


def test_summary_aligns():
    shares = {"ann": Money(1250, USD), "bobby": Money(99900, USD)}
    assert summary(shares) == "ann     $12.50\nbobby  $999.00"
