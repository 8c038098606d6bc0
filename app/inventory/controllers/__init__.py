"""Inventory over HTTP: locations, stock levels and ledger, counts and POS sync, transfers,
reservations (holds), availability — one module per resource in this package; `ROUTES` here.

Keys bound to a location (kiosk, POS, logistics) act only there: a POS key syncs and counts
its own store, a kiosk holds stock in its own store, a logistics key adjusts and moves its
own location's stock. Reads of levels and ledger by such a key default to its location.
"""

from __future__ import annotations

from typing import Any

from app.inventory.controllers.availability import read_availability
from app.inventory.controllers.locations import (
    create_location,
    delete_location,
    get_location,
    list_locations,
    update_location,
)
from app.inventory.controllers.reservations import (
    consume_reservation,
    create_reservation,
    get_reservation,
    release_reservation,
)
from app.inventory.controllers.stock import (
    create_adjustment,
    create_count,
    list_stock,
    read_ledger,
    read_on_hand_at,
    set_safety_stock,
    sync_stock,
)
from app.inventory.controllers.transfers import (
    cancel_transfer,
    create_transfer,
    dispatch_transfer,
    get_transfer,
    list_transfers,
    receive_transfer,
)

ROUTES: list[Any] = [
    create_location,
    list_locations,
    get_location,
    update_location,
    delete_location,
    list_stock,
    create_adjustment,
    create_count,
    set_safety_stock,
    read_ledger,
    read_on_hand_at,
    sync_stock,
    create_transfer,
    list_transfers,
    get_transfer,
    dispatch_transfer,
    receive_transfer,
    cancel_transfer,
    create_reservation,
    get_reservation,
    release_reservation,
    consume_reservation,
    read_availability,
]
