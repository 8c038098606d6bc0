"""What other domains plug into orders (registered once per process, in app/wiring.py).

- `on_cancel(callback) -> unregister`: `async callback(session, order_id, {line_no: units})
  -> Collection[int]` runs inside the cancel transaction, before the order changes; it gives
  up the units wherever it holds them (fulfilment: its open fulfillment orders and their
  reservations) and returns the line numbers whose stock it released — orders releases the
  stock of the other lines itself. Raising (e.g. 409: the units were picked) aborts the
  cancellation. It is not called when fulfilment itself cancels lines (`move_stock=False`).
- `register_handover_check(check)`: `async check(session, order_id) -> bool`, True when every
  unit the order still owes reached the customer (fulfilment: each of its fulfillment orders
  is delivered, collected or given up). A cancellation of an order's last open units leaves
  it `fulfilled`; with nothing on its way any more it is `completed` there and then, as the
  last delivery or collection would have completed it.
- `register_points_tender(redeem, restore)`: loyalty points as a tender. `redeem(session,
  card, amount, currency, order_id, *, channel)` and `restore(session, reference, amount, *,
  channel)`; the channel is the order's (redeem) or the one giving the points back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

CancelHook = Callable[[AsyncSession, uuid.UUID, Mapping[int, int]], Awaitable[Collection[int]]]
_cancel_hooks: list[CancelHook] = []


def on_cancel(callback: CancelHook) -> Callable[[], None]:
    _cancel_hooks.append(callback)

    def unregister() -> None:
        if callback in _cancel_hooks:
            _cancel_hooks.remove(callback)

    return unregister


async def cancelling(session: AsyncSession, order_id: uuid.UUID, lines: Mapping[int, int]) -> set[int]:
    """Run the cancel hooks; the lines whose stock they released."""
    handled: set[int] = set()
    for hook in list(_cancel_hooks):
        handled.update(await hook(session, order_id, dict(lines)))
    return handled


# ---- whether everything reached the customer ----------------------------------------------

HandoverCheck = Callable[[AsyncSession, uuid.UUID], Awaitable[bool]]
_handover: dict[str, HandoverCheck] = {}


def register_handover_check(check: HandoverCheck) -> None:
    _handover["check"] = check


async def handed_over(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """False when nobody registered a check: then nobody can tell."""
    check = _handover.get("check")
    return check is not None and await check(session, order_id)


# ---- the points tender ------------------------------------------------------------------


class PointsRedeem(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        card_number: str,
        amount_minor: int,
        currency: str,
        order_id: uuid.UUID,
        *,
        channel: str | None = None,
    ) -> str: ...


class PointsRestore(Protocol):
    async def __call__(
        self, session: AsyncSession, reference: str, amount_minor: int, *, channel: str | None = None
    ) -> None: ...


_redeem: dict[str, PointsRedeem] = {}
_restore: dict[str, PointsRestore] = {}


def register_points_tender(redeem: PointsRedeem, restore: PointsRestore) -> None:
    """The loyalty domain makes `loyalty_points` tenders payable."""
    _redeem["points"], _restore["points"] = redeem, restore


def points_accepted() -> bool:
    return "points" in _redeem


async def redeem_points(
    session: AsyncSession, card_number: str | None, amount: int, currency: str, order_id: uuid.UUID, channel: str
) -> str:
    """Take `amount` (minor units) of points from the card, in the order's transaction."""
    redeem = _redeem.get("points")
    if redeem is None or card_number is None:  # prepare_order refused both already
        raise RuntimeError("points tender without a card or without loyalty wired (app/wiring.py)")
    return await redeem(session, card_number, amount, currency, order_id, channel=channel)


async def restore_points(session: AsyncSession, reference: str, amount: int, channel: str | None) -> None:
    """Give `amount` (minor units) of a points tender back to the card it came from."""
    restore = _restore.get("points")
    if restore is not None and amount > 0:
        await restore(session, reference, amount, channel=channel)
