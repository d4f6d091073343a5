import pytest
from warehouse.inventory import Inventory, OutOfStock
from warehouse.orders import Status, cancel, place_order, ship
from warehouse.pricing import PriceList, order_total


def stocked():
    inventory = Inventory()
    inventory.receive("mug", 5)
    inventory.receive("tee", 2)
    return inventory


def test_failed_order_reserves_nothing():
    inventory = stocked()
    with pytest.raises(OutOfStock):
        place_order(inventory, {"mug": 3, "tee": 5})
    assert inventory.available("mug") == 5


def test_cancel_frees_stock():
    inventory = stocked()
    order = place_order(inventory, {"mug": 2, "tee": 1})
    cancel(inventory, order)
    assert order.status is Status.CANCELLED
    assert inventory.available("tee") == 2


def test_ship_and_no_double_ship():
    inventory = stocked()
    order = place_order(inventory, {"mug": 1})
    ship(inventory, order)
    assert inventory.on_hand("mug") == 4
    with pytest.raises(ValueError, match="shipped"):
        ship(inventory, order)


def test_price_breaks_and_coupon():
    prices = PriceList({"mug": 800, "tee": 1500}, {"mug": {10: 700, 50: 600}})
    assert prices.unit_price("mug", 9) == 800
    assert prices.unit_price("mug", 60) == 600
    assert order_total(prices, {"mug": 10, "tee": 1}, coupon_percent=10) == 7650
    with pytest.raises(KeyError):
        prices.unit_price("hat", 1)
