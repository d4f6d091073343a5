"""Money in minor units: parsing, arithmetic, allocation, formatting and bill splitting."""

from ledger.currency import Currency, get_currency
from ledger.money import Money

__all__ = ["Currency", "Money", "get_currency"]
