"""schemathesis hooks for ops/bench/fuzz.py (loaded through SCHEMATHESIS_HOOKS=fuzz_hooks).

- Every response is appended to OMS_FUZZ_STATS as `role, kind, phase, operation, status`.
- In half of the positive cases, path parameters, query values and body fields that name a real
  thing (an SKU, a location, an order, a customer, ...) get a seeded id (OMS_FUZZ_SEEDS, made by
  fuzz.py through the API): random UUIDs would otherwise only ever meet a 404. Negative cases
  are left as generated, so invalid input is still sent.
"""

from __future__ import annotations

import json
import os
import random
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


def _pool(name: str, path: str, seeds: dict[str, list[Any]] | None = None) -> list[Any] | None:
    """The seeded values a parameter or field called `name` of the operation on `path` takes."""
    seeds = SEEDS if seeds is None else seeds
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


def _swap(values: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
    if not isinstance(values, dict):
        return values
    for name in list(values):
        pool = _pool(name, path)
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
    if mode != "positive" or not _positive(ctx):
        return case
    path = case.operation.path
    case.path_parameters = _swap(case.path_parameters, path)
    case.query = _swap(case.query, path)
    case.headers = _swap(case.headers, path)
    if isinstance(case.body, dict | list):
        case.body = _swap_deep(case.body, path)
    return case


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    meta = getattr(case, "meta", None)
    phase = getattr(getattr(getattr(meta, "phase", None), "name", None), "value", "examples")
    with open(STATS, "a") as out:
        out.write(f"{ROLE}\t{KIND}\t{phase}\t{case.operation.label}\t{response.status_code}\n")
    if DETAILS and KIND == "allowed" and 400 <= response.status_code < 500 and response.status_code != 403:
        with open(DETAILS, "a") as out:  # what refused the case: for reading, not for the figures
            mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", "?")
            out.write(f"{case.operation.label}\t{mode}\t{response.status_code}\t{response.text[:300]!r}\n")
