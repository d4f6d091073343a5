"""Inventory with reservations, orders that reserve stock, and price rules."""
