"""Orders reserve all their lines or none, and can be cancelled or shipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from warehouse.inventory import Inventory, Reservation


class Status(Enum):
    OPEN = "open"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"


@dataclass
class Order:
    """An order's lines and the reservations that hold their stock."""

    lines: dict[str, int]
    reservations: list[Reservation] = field(default_factory=list)
    status: Status = Status.OPEN


def place_order(inventory: Inventory, lines: dict[str, int]) -> Order:
    """Reserve every line; if one cannot be reserved, release the others and re-raise."""
    order = Order(dict(lines))
    try:
        for sku, quantity in lines.items():
            order.reservations.append(inventory.reserve(sku, quantity))
    except Exception:
        for reservation in order.reservations:
            inventory.release(reservation)
        raise
    return order


def cancel(inventory: Inventory, order: Order) -> None:
    """Cancel an open order, freeing its stock."""
    _require_open(order)
    for reservation in order.reservations:
        inventory.release(reservation)
    order.status = Status.CANCELLED


def ship(inventory: Inventory, order: Order) -> None:
    """Ship an open order: its stock leaves the warehouse."""
    _require_open(order)
    for reservation in order.reservations:
        inventory.commit(reservation)
    order.status = Status.SHIPPED


def _require_open(order: Order) -> None:
    if order.status is not Status.OPEN:
        raise ValueError(f"order is {order.status.value}")
