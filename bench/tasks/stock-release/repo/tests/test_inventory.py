import pytest
from warehouse.inventory import Inventory, OutOfStock


@pytest.fixture
def inventory():
    inv = Inventory()
    inv.receive("mug", 10)
    inv.receive("tee", 3)
    return inv


def test_receive_accumulates(inventory):
    inventory.receive("mug", 5)
    assert inventory.on_hand("mug") == 15
    with pytest.raises(ValueError):
        inventory.receive("mug", 0)


def test_reserve_reduces_available(inventory):
    inventory.reserve("mug", 4)
    assert inventory.available("mug") == 6
    assert inventory.on_hand("mug") == 10


def test_out_of_stock(inventory):
    inventory.reserve("tee", 2)
    with pytest.raises(OutOfStock) as info:
        inventory.reserve("tee", 2)
    assert info.value.available == 1


def test_release_returns_everything(inventory):
    reservation = inventory.reserve("mug", 4)
    inventory.release(reservation)
    assert inventory.available("mug") == 10


def test_commit_ships(inventory):
    reservation = inventory.reserve("tee", 3)
    inventory.commit(reservation)
    assert (inventory.on_hand("tee"), inventory.available("tee")) == (0, 0)
    with pytest.raises(ValueError, match="not open"):
        inventory.commit(reservation)
