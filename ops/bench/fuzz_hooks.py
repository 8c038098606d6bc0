"""schemathesis hooks for ops/bench/fuzz.py (loaded through SCHEMATHESIS_HOOKS=fuzz_hooks).

- Every response is appended to OMS_FUZZ_STATS as `role, kind, phase, operation, status`.
- In half of the positive cases of the generated phases, path parameters, query values and body
  fields that name a real thing (an SKU, a location, an order, a customer, ...) get a seeded id
  (OMS_FUZZ_SEEDS, made by fuzz.py through the API): random UUIDs would otherwise only ever meet
  a 404. Negative cases are left as generated, so invalid input is still sent. The examples
  phase is left alone: its path examples are pinned to the state each action needs.
- An action that needs its thing in one state (accept a store's request, ship a packed parcel,
  delete an unused location, ...) draws from its own pool (`DEDICATED`), which no other
  operation's cases ever receive: a random hold or stock adjustment cannot spoil it first.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from typing import Any

import schemathesis

SEEDS: dict[str, list[Any]] = json.loads(os.environ.get("OMS_FUZZ_SEEDS", "{}"))
STATS = os.environ.get("OMS_FUZZ_STATS", "fuzz-stats.tsv")
ROLE = os.environ.get("OMS_FUZZ_ROLE", "?")
KIND = os.environ.get("OMS_FUZZ_KIND", "?")
DETAILS = os.environ.get("OMS_FUZZ_DETAILS")
RNG = random.Random(12)

# parameter or field name → seed pool; `code` and `number` depend on the path (see _pool).
NAMES = {
    "sku": "sku",
    "barcode": "barcode",
    "product_id": "product_id",
    "location": "location_code",
    "location_code": "location_code",
    "from_location": "location_code",
    "to_location": "location_code",
    "pickup_location": "location_code",
    "customer_id": "customer_id",
    "survivor_id": "customer_id",
    "absorb": "absorb_customer_id",
    "order_id": "order_id",
    "original_order_id": "order_id",
    "fo_id": "fo_id",
    "pick_list_id": "pick_list_id",
    "cart_id": "cart_id",
    "hold_id": "hold_id",
    "reservation_id": "reservation_id",
    "transfer_id": "transfer_id",
    "return_id": "return_id",
    "webhook_id": "webhook_id",
    "delivery_id": "delivery_id",
    "promotion_id": "promotion_id",
    "price_id": "price_id",
    "category_code": "category_code",
    "zone": "zone_code",
    "zone_code": "zone_code",
    "version": "version",
    "email": "email",
    "tracking_number": "tracking_number",
    "card_number": "number",
    "X-Customer-Token": "customer_token",
}


# Actions whose cases must name a thing in the state they need: operation → parameter → the pool
# fuzz.py seeds for that action alone (several per pool: the examples pass takes the first).
DEDICATED: dict[str, dict[str, str]] = {
    "POST /v1/orders/{order_id}/cancel": {"order_id": "cancel_order_id"},
    "POST /v1/orders/{order_id}/holds": {"order_id": "held_order_id"},
    "POST /v1/orders/{order_id}/holds/{hold_id}/lift": {"order_id": "held_order_id"},
    "POST /v1/pick-lists/{pick_list_id}/confirm": {"pick_list_id": "confirm_pick_list_id"},
    "POST /v1/fulfillment-orders/{fo_id}/accept": {"fo_id": "accept_fo_id"},
    "POST /v1/fulfillment-orders/{fo_id}/reject": {"fo_id": "reject_fo_id"},
    "POST /v1/fulfillment-orders/{fo_id}/ready": {"fo_id": "ready_fo_id"},
    "POST /v1/fulfillment-orders/{fo_id}/collect": {"fo_id": "collect_fo_id"},
    "POST /v1/returns/{return_id}/receive": {"return_id": "receive_return_id"},
    "POST /v1/returns/{return_id}/close": {"return_id": "close_return_id"},
    "POST /v1/returns/{return_id}/reject": {"return_id": "reject_return_id"},
    "POST /v1/returns/{return_id}/refund": {"return_id": "refund_return_id"},
    "POST /v1/transfers/{transfer_id}/receive": {"transfer_id": "receive_transfer_id"},
    "POST /v1/transfers/{transfer_id}/cancel": {"transfer_id": "cancel_transfer_id"},
    "POST /v1/fulfillment-orders/{fo_id}/ship": {"fo_id": "ship_fo_id"},
    "POST /v1/fulfillment-orders/{fo_id}/pack": {"fo_id": "pack_fo_id"},
    "DELETE /v1/locations/{code}": {"code": "delete_location_code"},
    "DELETE /v1/prices/{price_id}": {"price_id": "delete_price_id"},
    "POST /v1/reservations/{reservation_id}/consume": {"reservation_id": "consume_reservation_id"},
    "DELETE /v1/webhooks/{webhook_id}": {"webhook_id": "delete_webhook_id"},
    "DELETE /v1/api-keys/{key_id}": {"key_id": "revoke_key_id"},
    "DELETE /v1/promotions/{promotion_id}": {"promotion_id": "delete_promotion_id"},
    "GET /v1/orders/{order_id}/returnable": {"order_id": "delivered_order_id"},
}


# The reports' query: a period of days and a table name the report has.
REPORT_QUERY: dict[str, list[Any]] = {
    "table": ["totals", "by_channel", "fulfillment_mix", "returns_matrix", "pickup", "daily"],
    "from": [time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))],
    "to": [time.strftime("%Y-%m-%d", time.gmtime())],
}


def _pool(
    name: str, path: str, seeds: dict[str, list[Any]] | None = None, operation: str | None = None
) -> list[Any] | None:
    """The seeded values a parameter or field called `name` of the operation on `path` takes."""
    seeds = SEEDS if seeds is None else seeds
    dedicated = DEDICATED.get(operation or "", {}).get(name)
    if dedicated:
        return seeds.get(dedicated)
    if path.startswith("/v1/reports/") and name in REPORT_QUERY:
        return REPORT_QUERY[name]
    if name == "code" and path.endswith("/collect"):
        return seeds.get("pickup_code")
    if name == "code":
        key = "location_code" if path.startswith("/v1/locations") else "zone_code"
        return seeds.get(key) if not path.startswith("/v1/carts") else None
    if name == "number":
        return seeds.get("order_number" if path.startswith("/v1/orders") else "number")
    pool = NAMES.get(name)
    return seeds.get(pool) if pool else None


pool = _pool


def _positive(ctx: Any) -> bool:
    return RNG.random() < 0.5


def _swap(values: dict[str, Any] | None, path: str, operation: str | None = None) -> dict[str, Any] | None:
    if not isinstance(values, dict):
        return values
    for name in list(values):
        pool = _pool(name, path, operation=operation)
        if pool:
            values[name] = RNG.choice(pool)
    return values


def _swap_deep(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        for name, inner in value.items():
            pool = _pool(name, path)
            if pool and isinstance(inner, str | int) and not isinstance(inner, bool):
                seeded = RNG.choice(pool)
                if type(seeded) is type(inner):
                    value[name] = seeded
            else:
                _swap_deep(inner, path)
    elif isinstance(value, list):
        for inner in value:
            _swap_deep(inner, path)
    return value


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", "positive")
    if mode != "positive" or _phase(case) == "examples" or not _positive(ctx):
        return case
    path = case.operation.path
    case.path_parameters = _swap(case.path_parameters, path, case.operation.label)
    case.query = _swap(case.query, path)
    case.headers = _swap(case.headers, path)
    if isinstance(case.body, dict | list):
        case.body = _swap_deep(case.body, path)
    return case


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A fresh Idempotency-Key for every positive case, in every phase: the generated keys repeat
    ("0", or the same example), and the service rightly answers a reused key with another body
    `idempotency_key_reused`. Negative cases keep theirs (an invalid key must be refused)."""
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", "positive")
    if mode == "positive" and case.headers:
        for name in [n for n in case.headers if n.lower() == "idempotency-key"]:
            case.headers[name] = uuid.uuid4().hex


def _phase(case: Any) -> str:
    meta = getattr(case, "meta", None)
    return str(getattr(getattr(getattr(meta, "phase", None), "name", None), "value", "examples"))


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    meta = getattr(case, "meta", None)
    phase = _phase(case)
    with open(STATS, "a") as out:
        out.write(f"{ROLE}\t{KIND}\t{phase}\t{case.operation.label}\t{response.status_code}\n")
    if DETAILS and KIND == "allowed" and 400 <= response.status_code < 500 and response.status_code != 403:
        with open(DETAILS, "a") as out:  # what refused the case: for reading, not for the figures
            mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", "?")
            out.write(f"{case.operation.label}\t{mode}\t{response.status_code}\t{response.text[:300]!r}\n")
