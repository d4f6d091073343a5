"""Stock on hand and reservations held for open orders."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count


class OutOfStock(Exception):
    """Not enough unreserved stock for a request."""

    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: wanted {wanted}, only {available} available")
        self.sku = sku
        self.wanted = wanted
        self.available = available


@dataclass(frozen=True)
class Reservation:
    """Stock set aside for an order until it is committed or released."""

    id: int
    sku: str
    quantity: int


class Inventory:
    """On-hand quantities per SKU; reserved stock is not available to others."""

    def __init__(self) -> None:
        self._on_hand: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._open: dict[int, Reservation] = {}
        self._ids = count(1)

    def receive(self, sku: str, quantity: int) -> None:
        """Add delivered stock."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self._on_hand[sku] = self._on_hand.get(sku, 0) + quantity

    def on_hand(self, sku: str) -> int:
        """Physical stock, reserved or not."""
        return self._on_hand.get(sku, 0)

    def available(self, sku: str) -> int:
        """Stock that can still be reserved."""
        return self.on_hand(sku) - self._reserved.get(sku, 0)

    def reserve(self, sku: str, quantity: int) -> Reservation:
        """Set ``quantity`` aside; raises ``OutOfStock`` when not enough is available."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        available = self.available(sku)
        if quantity > available:
            raise OutOfStock(sku, quantity, available)
        reservation = Reservation(next(self._ids), sku, quantity)
        self._reserved[sku] = self._reserved.get(sku, 0) + quantity
        self._open[reservation.id] = reservation
        return reservation

    def _close(self, reservation: Reservation) -> Reservation:
        try:
            return self._open.pop(reservation.id)
        except KeyError:
            raise ValueError(f"reservation {reservation.id} is not open") from None

    def release(self, reservation: Reservation) -> None:
        """Give reserved stock back (order cancelled)."""
        held = self._close(reservation)
        self._reserved[held.sku] -= 1

    def commit(self, reservation: Reservation) -> None:
        """Ship reserved stock: it leaves both the reservation and the shelf."""
        held = self._close(reservation)
        self._reserved[held.sku] -= held.quantity
        self._on_hand[held.sku] -= held.quantity
