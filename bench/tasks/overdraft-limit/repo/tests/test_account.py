from datetime import date

import pytest
from bankcore.account import Account, InsufficientFunds

DAY = date(2024, 3, 1)


def test_deposit_and_withdraw():
    account = Account("A1", "ann")
    account.deposit(DAY, 10_000)
    account.withdraw(DAY, 2_500)
    assert account.balance == 7_500


def test_cannot_overdraw_without_arrangement():
    account = Account("A1", "ann")
    account.deposit(DAY, 1_000)
    with pytest.raises(InsufficientFunds, match="1000 available"):
        account.withdraw(DAY, 1_001)


def test_arranged_overdraft_allows_negative_balance():
    account = Account("A2", "bob", overdraft=5_000)
    account.deposit(DAY, 1_000)
    account.withdraw(DAY, 4_000)
    assert account.balance == -3_000
    assert account.available() == 2_000


def test_overdraft_limit_is_enforced():
    account = Account("A2", "bob", overdraft=5_000)
    with pytest.raises(InsufficientFunds):
        account.withdraw(DAY, 5_001)


def test_amounts_must_be_positive():
    with pytest.raises(ValueError):
        Account("A3", "cy").deposit(DAY, 0)
    with pytest.raises(ValueError):
        Account("A3", "cy").withdraw(DAY, -5)
