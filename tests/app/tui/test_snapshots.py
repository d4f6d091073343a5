"""SVG snapshots of the main views on the shop fixture (fixed size, fake clock).

Update them after a deliberate change of the UI with
`pytest tests/app/tui/test_snapshots.py --snapshot-update`, and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from app.tui.app import FathomApp
from tests.app.tui.helpers import SIZE, ask, fathom, settle

QUESTION = "how is the discount applied?"
Snap = Callable[..., bool]


def test_ask_with_an_answer(snap_compare: Snap, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, QUESTION)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_ask_at_80x24(snap_compare: Snap, make_app: Callable[..., Any]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, QUESTION)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_code_viewer(snap_compare: Snap, make_app: Callable[..., FathomApp]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await fathom(pilot).open_location("shop/pricing.py", 8)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_what_the_model_saw(snap_compare: Snap, make_app: Callable[..., FathomApp]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await ask(pilot, QUESTION)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
