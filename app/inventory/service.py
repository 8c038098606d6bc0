"""Inventory use cases (the code lives in `app/inventory/usecases/`; this is its face).
Services never commit: the caller's transaction owns the work.

Public functions (other domains call only these; `Line` = `(sku, location, quantity)`):

Locations (`usecases/locations.py`)
- `get_location(session, code) -> LocationOut` (LocationNotFound)
- `list_locations(session, kind=None, ships=None, pickup=None) -> list[LocationOut]`
- `create_location(session, body: LocationCreate) -> LocationOut`
- `update_location(session, code, body: LocationUpdate) -> LocationOut`
- `delete_location(session, code) -> None` (refused once it has stock, ledger or transfers)

Reservations (`usecases/reservations.py`: reserve, hold, read; `usecases/settlement.py`: release,
consume, expire)
- `reserve(session, *, reference, lines: Sequence[Line], expires_at=None, actor=None, holder=None,
  beyond_safety_stock=False) -> ReservationOut`
  All lines or none. Raises InsufficientStock (409 `insufficient_stock`, extra
  `lines=[{sku, location, requested, available}]` for each line that could not be reserved),
  UnknownSku / UnknownLocation (422), DuplicateLine (422), ReferenceInUse (409: the
  reference holds other lines). The same reference with the same lines returns the existing
  reservation (retries are harmless). On failure nothing stays reserved, so the caller may
  try another plan in the same transaction.
- `release(session, *, reference, lines: Sequence[Line] | None = None, actor=None) -> ReservationOut`
  None releases everything still open; releasing a closed reservation changes nothing.
- `consume(session, *, reference, lines=None, actor=None, ledger_reference=None) -> ReservationOut`
  At shipment or pickup: on_hand and reserved both go down, one `sale` ledger row per line
  (reference `ledger_reference` or the reservation's).
- `holder_for(principal) -> str`; `holder` of reserve/hold: the reservation is made through
  /v1/reservations by that channel (and store). Such a reservation may not take a flow's
  reference (`order:`, `resource:`, `fulfillment:`, `exchange:`: 422 `reference_reserved`),
  and through the API only its holder (or an admin) may release it, only its holder consume
  it (403 `not_reservation_holder`); an order's or fulfillment's reservation (no holder) is
  never settled through the API (409 `reservation_held_by_order`): `release`/`consume` with
  a `principal` check it, the flows call them without one.
- `open_reservation_units(session, references) -> {(reference, sku, location): open units}`
- `hold(maker, *, reference, line: Line, expires_at=None, actor=None, holder=None) -> ReservationOut`: a
  single-line reservation through this process's per-SKU combiner (holds.py), in its own
  transaction, committed when it returns. The HTTP hold path: the same outcomes as `reserve`,
  for flash-sale traffic on one SKU.
- `get_reservation(session, *, reservation_id=None, reference=None) -> ReservationOut`
- `expire_reservations(session, *, limit=500) -> int` (the `inventory.expire_reservations` job)

Stock (`usecases/stock.py`; counts and POS batches: `usecases/counts.py`)
- `adjust(session, *, sku, location_code, delta, reason, reference=None, actor=None) -> StockLevelOut`
  reasons: receipt (+), return_restock (+), damage (-), correction (±). OnHandWouldGoNegative.
- `count(session, *, location_code, lines: Sequence[(sku, on_hand)], counted_at=None, reference=None, actor=None)
  -> list[StockLevelOut]` (cycle count; the ledger records the difference)
- `sync_counts(session, *, location_code, batch_id, lines: Sequence[(sku, on_hand, counted_at)], actor=None)
  -> SyncOut` (POS batches; see rules.decide_count for counts older than later movements)
- `stock_levels(session, *, sku=None, location_code=None, limit, cursor=None) -> Page[StockLevelOut]`
- `set_safety_stock(session, *, sku, location_code, safety_stock: int | None) -> StockLevelOut`
- `ledger(session, *, sku=None, location_code=None, limit, cursor=None) -> Page[LedgerEntryOut]`
- `on_hand_at(session, *, sku, location_code, at) -> OnHandAtOut`

Delivery promise (`usecases/promise.py`, pure dates in rules.py)
- `promise_terms(session, codes) -> dict[code, PromiseTerms]`; `pickup_ready_by(now, terms)`,
  `delivered_by(now, terms, country)`, `transfer_ready_by(now, source, store)`, `end_of_day(day, tz)`

Availability (`usecases/availability.py`)
- `availability(session, *, skus, channel=None, lat=None, lon=None, radius_km=None, pickup_only=False,
  limit=20, cursor=None, country=None)` (bounded: at most `limit` locations, `next_cursor`)
  -> AvailabilityOut` (storefronts/kiosks; two indexed queries per request whatever the SKU count)
- `available_by_location(session, skus, location_codes=None) -> dict[(sku, location), int]`
  (rows without stock are absent)
- `sourcing_locations(session, skus, *, serves=None, pickup_location=None) -> list[LocationStock]`
  (the sourcing planner, one statement: the locations that can serve an order, by code, each
  with what it has available of `skus`; see the function)

Transfers (`usecases/transfers.py`)
- `create_transfer(session, *, from_location, to_location, lines: Sequence[(sku, qty)], note=None, actor=None)
  -> TransferOut`
- `dispatch_transfer(session, transfer_id, *, actor=None, principal=None) -> TransferOut` (transfer_out at
  the source; in_transit at the destination; reserved units never leave)
- `receive_transfer(session, transfer_id, *, actor=None, principal=None) -> TransferOut` (transfer_in)
- `cancel_transfer(session, transfer_id, *, principal=None) -> TransferOut` (drafts only)
- `get_transfer(session, transfer_id, *, principal=None) -> TransferOut`
  With `principal`, a key bound to a location acts only at the transfer's end the action
  happens at (dispatch: the source, receive: the destination, cancel and get: either end);
  another location's key gets the 403 of `principal.require_location`.
- `list_transfers(session, *, status, location_code, limit, cursor, sku=None) -> Page[TransferOut]`

Integrity (`usecases/integrity.py`)
- `check_integrity(session, *, limit=1000) -> list[Finding]`: on_hand = ledger sum, reserved =
  open reservations, in_transit = dispatched transfers, nothing negative, statuses right.
"""

from __future__ import annotations

from app.inventory.rules import Line, PromiseTerms, delivered_by, end_of_day, pickup_ready_by, transfer_ready_by
from app.inventory.usecases.availability import (
    DEFAULT_AVAILABILITY_LOCATIONS,
    MAX_AVAILABILITY_LOCATIONS,
    LocationStock,
    availability,
    available_by_location,
    sourcing_locations,
)
from app.inventory.usecases.common import holder_for
from app.inventory.usecases.counts import count, sync_counts
from app.inventory.usecases.integrity import check_integrity
from app.inventory.usecases.locations import (
    create_location,
    delete_location,
    get_location,
    list_locations,
    list_locations_page,
    update_location,
)
from app.inventory.usecases.promise import promise_terms
from app.inventory.usecases.reservations import get_reservation, hold, reserve
from app.inventory.usecases.settlement import consume, expire_reservations, open_reservation_units, release
from app.inventory.usecases.stock import adjust, ledger, on_hand_at, set_safety_stock, stock_levels
from app.inventory.usecases.transfers import (
    cancel_transfer,
    create_transfer,
    dispatch_transfer,
    get_transfer,
    list_transfers,
    receive_transfer,
)

__all__ = [
    "DEFAULT_AVAILABILITY_LOCATIONS",
    "MAX_AVAILABILITY_LOCATIONS",
    "Line",
    "LocationStock",
    "PromiseTerms",
    "adjust",
    "availability",
    "available_by_location",
    "cancel_transfer",
    "check_integrity",
    "consume",
    "count",
    "create_location",
    "create_transfer",
    "delete_location",
    "delivered_by",
    "dispatch_transfer",
    "end_of_day",
    "expire_reservations",
    "get_location",
    "get_reservation",
    "get_transfer",
    "hold",
    "holder_for",
    "ledger",
    "list_locations",
    "list_locations_page",
    "list_transfers",
    "on_hand_at",
    "open_reservation_units",
    "pickup_ready_by",
    "promise_terms",
    "receive_transfer",
    "release",
    "reserve",
    "set_safety_stock",
    "sourcing_locations",
    "stock_levels",
    "sync_counts",
    "transfer_ready_by",
    "update_location",
]
