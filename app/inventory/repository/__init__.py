"""Every SQL statement of inventory (one module per job in this package; this is its face:
`from app.inventory import repository` and `repository.<statement>`).

The stock writes are data-modifying CTEs: the row change, its ledger rows and its outbox
events travel in one statement (one round trip, one lock acquisition per row). Writers
take stock rows in (sku, location) order: the reservation path by issuing its conditional
UPDATEs in that order, every other path by a `SELECT ... ORDER BY ... FOR UPDATE` CTE
(`locked`) before touching the rows.
"""

from __future__ import annotations

from app.inventory.repository.availability import (
    SOURCING_STATEMENTS,
    availability,
    available_by_location,
    sourcing_locations,
)
from app.inventory.repository.common import ACTOR, AVAILABLE, NOW, SAFETY
from app.inventory.repository.counts import claim_sync_batch, count_basis, save_sync_outcome, sync_batch
from app.inventory.repository.holds import HoldRequest, hold_batch
from app.inventory.repository.integrity import CHECKS, integrity_findings
from app.inventory.repository.ledger import ledger_page, on_hand_at
from app.inventory.repository.locations import (
    add_location,
    delete_location,
    existing_location_codes,
    list_locations,
    location,
    location_in_use,
    locations_by_code,
)
from app.inventory.repository.reservations import (
    expired_reservations,
    lock_reservation,
    open_lines_by_reference,
    reservation_by,
    reservation_lines,
    reserve_many,
    reserve_one,
    set_reservation_status,
    settle_lines,
    settle_many_fully_released,
    unreserve_row,
)
from app.inventory.repository.stock import (
    LEVEL_COLUMNS,
    Change,
    apply_changes,
    availability_of_lines,
    set_safety_stock,
    stock_level,
    stock_levels,
)
from app.inventory.repository.transfers import add_transfer, list_transfers, transfer, transfer_lines

__all__ = [
    "ACTOR",
    "AVAILABLE",
    "CHECKS",
    "LEVEL_COLUMNS",
    "NOW",
    "SAFETY",
    "SOURCING_STATEMENTS",
    "Change",
    "HoldRequest",
    "add_location",
    "add_transfer",
    "apply_changes",
    "availability",
    "availability_of_lines",
    "available_by_location",
    "claim_sync_batch",
    "count_basis",
    "delete_location",
    "existing_location_codes",
    "expired_reservations",
    "hold_batch",
    "integrity_findings",
    "ledger_page",
    "list_locations",
    "list_transfers",
    "location",
    "location_in_use",
    "locations_by_code",
    "lock_reservation",
    "on_hand_at",
    "open_lines_by_reference",
    "reservation_by",
    "reservation_lines",
    "reserve_many",
    "reserve_one",
    "save_sync_outcome",
    "set_reservation_status",
    "set_safety_stock",
    "settle_lines",
    "settle_many_fully_released",
    "sourcing_locations",
    "stock_level",
    "stock_levels",
    "sync_batch",
    "transfer",
    "transfer_lines",
    "unreserve_row",
]
