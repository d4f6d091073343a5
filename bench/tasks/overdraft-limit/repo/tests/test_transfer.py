from datetime import date

import pytest
from bankcore.account import Account, InsufficientFunds
from bankcore.statement import render, statement
from bankcore.transfer import transfer, transfer_fee

DAY = date(2024, 3, 5)


def test_fee():
    assert transfer_fee(50_000) == 0
    assert transfer_fee(150_000) == 500


def test_transfer_books_both_sides():
    ann, bob = Account("A1", "ann"), Account("B1", "bob")
    ann.deposit(DAY, 200_000)
    assert transfer(ann, bob, 150_000, DAY) == 500
    assert (ann.balance, bob.balance) == (49_500, 150_000)


def test_failed_transfer_books_nothing():
    ann, bob = Account("A1", "ann"), Account("B1", "bob")
    with pytest.raises(InsufficientFunds):
        transfer(ann, bob, 10, DAY)
    assert bob.entries == []


def test_transfer_into_overdraft():
    ann, bob = Account("A1", "ann", overdraft=10_000), Account("B1", "bob")
    transfer(ann, bob, 6_000, DAY)
    assert ann.balance == -6_000


def test_statement():
    ann = Account("A1", "ann")
    ann.deposit(date(2024, 2, 20), 10_000, "salary")
    ann.withdraw(date(2024, 3, 2), 2_550, "rent")
    ann.deposit(date(2024, 4, 1), 1, "later")
    st = statement(ann, 2024, 3)
    assert (st.opening, st.closing) == (10_000, 7_450)
    assert render(st).splitlines()[1] == "2024-03-02 rent                     -25.50       74.50"
