"""Fuzz the live API with schemathesis: every operation, every role's key, stateful sequences.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/fuzz.py --examples 5 --denied-examples 2 --stateful-scenarios 40

What it does:
1. (re)creates a scratch database `oms_fuzz` on DATABASE_URL's server, runs `oms demo` into it
   (the demo retailer: catalog, locations, stock, prices, promotions, one key per role);
2. starts `oms serve` on a free port against it (its own outbox stream and queue namespace);
3. seeds, through the API, the ids of real things in the state each action needs, so that
   requests reach the code behind the 404s and 409s: a customer, a delivered order with returns
   waiting for each action, orders to cancel and to hold, picked and packed parcels, store
   pickups to make ready and collect, a ship-to-store parcel on its way, ship-from-store requests
   waiting for the store, transfers, future prices, locations to delete, a cart, a reservation,
   a webhook with deliveries. What one action consumes is seeded `SPARES` times in a pool of its
   own (`fuzz_hooks.DEDICATED`) that no other operation's cases draw from;
4. adds OpenAPI links to the live schema (a create's `id` → every operation on `/…/{id}`) and,
   per operation, a valid example body and the seeded path ids its action needs;
5. runs schemathesis per role key, in two passes. The examples pass first, for every role: each
   operation the role may call, with its example, before any generated case can change the
   seeded state (hold the parcel's order, adjust the stock of the location to delete, ...). Then
   per role the generated phases (coverage, fuzzing, stateful: --stateful-scenarios scenarios of
   at most --stateful-steps calls, set in schemathesis' config file) on the operations the role
   may call, --examples cases each; and the operations it may not call, --denied-examples cases
   each (they must answer 401/403, never 5xx);
6. prints per-operation figures (cases, 2xx, 2xx from generated cases, 4xx, 5xx) as a markdown
   table and a summary, naming the operations never answered 2xx and those answered 2xx only in
   the examples pass (reached with valid data, but not by a generated case).

`fuzz_hooks.py` (loaded by schemathesis via SCHEMATHESIS_HOOKS) records every response, gives
every positive case a fresh Idempotency-Key and, for half the generated positive cases, swaps
path parameters, query values and body fields that name an SKU, a location, an order, ... for
a seeded real one. Exit status 1 when a response was ≥ 500 or schemathesis reported a failure
(its checks: not_a_server_error and response_schema_conformance).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
BIN = Path(sys.executable).parent
DB_NAME = "oms_fuzz"
# How many of each thing one action consumes (an order to cancel, a parcel to ship, a store's
# request to accept, ...) are seeded: the examples pass takes the first, generated cases the rest.
SPARES = 2
ADDRESS = {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}
# role → the demo key it runs with (app/demo.py's labels). The selling roles go first: the staff
# runs then change locations, zones and prices under them (which may refuse later orders).
ROLE_LABELS = {
    "storefront": "storefront (web)",
    "kiosk": "kiosk",
    "contact_center": "contact_center",
    "pos": "pos",
    "logistics": "logistics",
    "integration": "integration",
    "merchandiser": "merchandiser",
    "admin": "admin",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(base_url: str) -> str:
    admin = make_url(base_url)
    sql = f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE); CREATE DATABASE {DB_NAME}"
    for statement in sql.split("; "):
        subprocess.run(
            ["psql", admin.set(drivername="postgresql").render_as_string(hide_password=False), "-qc", statement],
            check=True,
        )
    return admin.set(database=DB_NAME).render_as_string(hide_password=False)


class Api:
    def __init__(self, base: str, keys: dict[str, str]) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.keys = keys

    def call(self, label: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        sent = {"Authorization": f"Bearer {self.keys[label]}", **headers}
        if method == "POST":
            sent.setdefault("Idempotency-Key", uuid.uuid4().hex)
        r = self.http.request(method, path, json=body, headers=sent)
        if r.status_code >= 300:
            raise RuntimeError(f"seed {method} {path} as {label}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None


def seed(api: Api) -> dict[str, list[Any]]:
    """Real things for the fuzzer to find, made through the API as a retailer's clients would."""
    ids: dict[str, list[Any]] = defaultdict(list)
    products = api.call("admin", "GET", "/v1/products?limit=100")["items"]
    ids["product_id"] = [p["id"] for p in products]
    for product_id in ids["product_id"][:12]:
        for variant in api.call("admin", "GET", f"/v1/products/{product_id}")["variants"]:
            ids["sku"].append(variant["sku"])
            ids["barcode"].append(variant["barcode"])
    locations = api.call("admin", "GET", "/v1/locations?limit=100")["items"]
    ids["location_code"] = [loc["code"] for loc in locations]
    steps = [
        _customer,
        _orders,
        _store_requests,
        _exchange_sku,
        _cart,
        _hold,
        _reservation,
        _transfer,
        _webhook,
        _location,
        _prices,
        _listed,
        _doomed,  # after _listed: what it makes to delete stays out of the shared pools
    ]
    for step in steps:
        try:
            step(api, ids)
        except Exception as exc:  # a failed seed step narrows the fuzz; it is reported, not fatal
            print(f"seed step {step.__name__} failed: {exc}", file=sys.stderr)
    return {name: list(dict.fromkeys(values)) for name, values in ids.items() if values}


def _customer(api: Api, ids: dict[str, list[Any]]) -> None:
    customer = api.call(
        "contact_center",
        "POST",
        "/v1/customers",
        {"name": "Fuzz Shopper", "email": "fuzz.shopper@example.com", "phone": "+4930123456"},
    )
    ids["customer_id"].append(customer["id"])
    session = api.call("storefront (web)", "POST", "/v1/customer-sessions", {"email": "fuzz.shopper@example.com"})
    ids["customer_token"].append(session["token"])
    ids["email"].append("fuzz.shopper@example.com")
    if customer.get("card_number"):
        ids["number"].append(customer["card_number"])
    for n in range(SPARES):  # records the first customer absorbs (a merge takes one each)
        body = {"name": f"Fuzz Duplicate {n}", "email": f"fuzz.duplicate{n}@example.com"}
        ids["absorb_customer_id"].append(api.call("contact_center", "POST", "/v1/customers", body)["id"])


def _order(
    api: Api,
    ids: dict[str, list[Any]],
    label: str,
    fulfillment: dict[str, Any],
    quantity: int = 1,
    pooled: bool = True,
    skus: list[str] | None = None,
) -> str:
    """Place an order of one SKU the fulfilling location has (the first of `skus` that places).
    An order kept for one action (`pooled=False`) stays out of the pools every other case draws
    from, so that a random cancel or hold does not take it first."""
    store = fulfillment["fulfillment"].get("location")
    for sku in skus or (ids["store_sku"] if store else ids["sku"]):
        price = api.call("admin", "GET", f"/v1/prices?sku={sku}")["items"][0]["amount"]
        body = {
            "lines": [{"sku": sku, "quantity": quantity}],
            **fulfillment,
            "tenders": [{"kind": "card", "amount": price * quantity, "card_token": "tok_visa"}],
            "customer_id": ids["customer_id"][0],
        }
        with contextlib.suppress(RuntimeError):
            order = api.call(label, "POST", "/v1/orders", body)
            if pooled:
                ids["order_id"].append(order["id"])
                ids["order_number"].append(order["number"])
                ids["fo_id"].extend(_fos(api, order["id"]))
            return str(order["id"])
    raise RuntimeError("no SKU could be ordered")


def _fos(api: Api, order_id: str) -> list[str]:
    return [
        fo["id"] for fo in api.call("admin", "GET", f"/v1/fulfillment-orders/by-order/{order_id}")["fulfillment_orders"]
    ]


def _orders(api: Api, ids: dict[str, list[Any]]) -> None:
    """Orders in the states the actions need: one delivered (returns, exchanges), one open at the
    warehouse (pick lists), ones to cancel, one held, packed parcels to ship, store pickups to make
    ready and collect, ship-from-store requests to accept and reject. What one action consumes
    is seeded `SPARES` times and kept out of the shared pools: the examples pass takes the first,
    the generated cases the others."""
    delivery = {"fulfillment": {"method": "delivery", "address": ADDRESS}}
    pickup = {"fulfillment": {"method": "pickup", "location": "STORE-BERLIN"}}
    stock = api.call("admin", "GET", "/v1/stock?location=STORE-BERLIN&limit=200")["items"]
    ids["store_sku"] = [level["sku"] for level in stock if level["available"] >= 2]
    delivered = _order(api, ids, "contact_center", delivery, quantity=6)  # the seeded returns' 5 units
    returnable = _order(api, ids, "contact_center", delivery, quantity=4)  # the examples' return and exchange
    _deliver(api, ids)
    ids["delivered_order_id"].append(returnable)
    _returns(api, ids, delivered)
    for _ in range(SPARES):  # picked and packed: parcels to ship, on orders nobody else can hold
        _order(api, ids, "contact_center", delivery, pooled=False)
    ids["ship_fo_id"].extend(_deliver(api, ids, until="packed"))
    try:  # a failure here narrows the fuzz to one operation less: reported, not fatal
        _ship_to_store(api, ids)
    except RuntimeError as exc:
        print(f"seed step _ship_to_store failed: {exc}", file=sys.stderr)
    for _ in range(SPARES):
        ids["cancel_order_id"].append(_order(api, ids, "contact_center", delivery, pooled=False))
    ids["held_order_id"].append(_order(api, ids, "contact_center", delivery, pooled=False))
    _order(api, ids, "contact_center", delivery)  # stays open: a pick list to confirm
    pick = api.call("logistics", "POST", "/v1/pick-lists", {})
    ids["confirm_pick_list_id"].append(pick["id"])
    ids["pick_list_id"].append(pick["id"])
    _order(api, ids, "contact_center", delivery)  # stays open: a pick list to make
    _order(api, ids, "contact_center", delivery)  # picked: a parcel to pack
    ids["pack_fo_id"].extend(_deliver(api, ids, until="picked"))
    # Store pickups, picked at the store: to make ready, and made ready to collect.
    ready = [_order(api, ids, "pos", pickup, pooled=False, skus=_at_store(api)) for _ in range(SPARES)]
    collect = [_order(api, ids, "pos", pickup, pooled=False, skus=_at_store(api)) for _ in range(SPARES)]
    pick = api.call("pos", "POST", "/v1/pick-lists", {})
    found = [{"sku": line["sku"], "found": line["quantity"]} for line in pick["lines"]]
    api.call("pos", "POST", f"/v1/pick-lists/{pick['id']}/confirm", {"lines": found})
    for order_id in ready:
        ids["ready_fo_id"].extend(_fos(api, order_id))
    for order_id in collect:
        for fo_id in _fos(api, order_id):
            api.call("pos", "POST", f"/v1/fulfillment-orders/{fo_id}/ready")
            ids["collect_fo_id"].append(fo_id)
            ids["pickup_code"].extend(_pickup_codes(api, [fo_id]))  # in the same order as the pickups
    ids["collect_order_number"].append(api.call("admin", "GET", f"/v1/orders/{collect[0]}")["number"])


def _at_store(api: Api) -> list[str]:
    """The SKUs STORE-BERLIN has a unit of now (an order of another would wait for a transfer)."""
    stock = api.call("admin", "GET", "/v1/stock?location=STORE-BERLIN&limit=200")["items"]
    return [level["sku"] for level in stock if level["available"] >= 1]


def _exchange_sku(api: Api, ids: dict[str, list[Any]]) -> None:
    """A replacement the store has on its shelf, for the example exchange at STORE-BERLIN."""
    ids["exchange_sku"] = _at_store(api)[-3:]


def _ship_to_store(api: Api, ids: dict[str, list[Any]]) -> None:
    """A parcel on its way to STORE-BERLIN for a pickup, for the store to scan in (`POST
    /v1/parcels/received`): a pickup of a unit the store lacks and WH-NORTH (the warehouse
    nearest Berlin) has; the warehouse picks, packs and ships it (nothing else is open there now)."""
    stock = api.call("admin", "GET", "/v1/stock?location=STORE-BERLIN&limit=200")["items"]
    at_store = {level["sku"]: level["available"] for level in stock}
    north = api.call("admin", "GET", "/v1/stock?location=WH-NORTH&limit=200")["items"]
    lacking = [level["sku"] for level in north if level["available"] >= 1 and at_store.get(level["sku"], 0) <= 0]
    if not lacking:
        raise RuntimeError("every SKU WH-NORTH has is at STORE-BERLIN too")
    pickup = {"fulfillment": {"method": "pickup", "location": "STORE-BERLIN"}}
    _order(api, ids, "pos", pickup, pooled=False, skus=lacking)
    _deliver(api, ids, until="shipped")
    ids["tracking_number"].extend(ids["inbound_tracking_number"])


def _store_requests(api: Api, ids: dict[str, list[Any]]) -> None:
    """Ship-from-store requests waiting for STORE-BERLIN's answer (`created`, type delivery: only
    those can be rejected). A delivery to a Berlin address with its coordinates, of a unit the
    store has: every plan is one parcel, and `nearest` then ranks the store (0 km) before the
    warehouses (Hamburg, Munich). A store pickup would not do: when the store lacks a line it
    waits for a transfer (`awaiting_transfer`), and a pickup cannot be rejected."""
    here = {**ADDRESS, "latitude": 52.52, "longitude": 13.405}
    berlin = {"fulfillment": {"method": "delivery", "address": here}}
    for pool in ["accept_fo_id"] * SPARES + ["reject_fo_id"] * SPARES:
        order_id = _order(api, ids, "contact_center", berlin, pooled=False, skus=_at_store(api))
        fos = api.call("admin", "GET", f"/v1/fulfillment-orders/by-order/{order_id}")["fulfillment_orders"]
        waiting = [fo["id"] for fo in fos if fo["location_code"] == "STORE-BERLIN" and fo["status"] == "created"]
        if not waiting:
            raise RuntimeError(f"order {order_id} was not sourced to STORE-BERLIN: {fos}")
        ids[pool].extend(waiting)


def _pickup_codes(api: Api, fo_ids: list[str]) -> list[str]:
    """The codes the customer notification would carry (`fulfillment.pickup_ready` events)."""
    codes, cursor = [], None
    for _ in range(50):
        page = api.call("integration", "GET", "/v1/events?limit=200" + (f"&after={cursor}" if cursor else ""))
        for event in page["items"]:
            if event["type"] == "fulfillment.pickup_ready" and event["aggregate_id"] in fo_ids:
                codes += [str(v) for k, v in event["payload"].items() if "code" in k and "location" not in k]
        cursor = page.get("next_cursor")
        if not page["items"] or not cursor:
            break
    return codes


def _deliver(api: Api, ids: dict[str, list[Any]], until: str = "delivered") -> list[str]:
    """Pick what is open at the warehouse, then pack, ship and deliver it, up to `until`."""
    pick = api.call("logistics", "POST", "/v1/pick-lists", {})
    ids["pick_list_id"].append(pick["id"])
    found = [{"sku": line["sku"], "found": line["quantity"]} for line in pick["lines"]]
    api.call("logistics", "POST", f"/v1/pick-lists/{pick['id']}/confirm", {"lines": found})
    for fo_id in pick["fulfillment_order_ids"] if until != "picked" else []:
        tracking = f"FZ{uuid.UUID(fo_id).hex[:12].upper()}"
        parcels = {"parcels": [{"carrier": "fuzzpost", "tracking_number": tracking}]}
        api.call("logistics", "POST", f"/v1/fulfillment-orders/{fo_id}/pack", parcels)
        if until == "packed":
            continue
        api.call("logistics", "POST", f"/v1/fulfillment-orders/{fo_id}/ship")
        if until == "shipped":
            ids["inbound_tracking_number"].append(tracking)
            continue
        event = {"carrier": "fuzzpost", "event_id": f"dlv-{fo_id}", "tracking_number": tracking}
        api.call("integration", "POST", "/v1/carrier-events", {**event, "status": "delivered"})
        ids["tracking_number"].append(tracking)
    return list(pick["fulfillment_order_ids"])


def _returns(api: Api, ids: dict[str, list[Any]], order_id: str) -> None:
    """One immediate return, and returns by post waiting for each action on them."""
    line_no = api.call("admin", "GET", f"/v1/orders/{order_id}")["lines"][0]["line_no"]
    ids["delivered_order_id"].append(order_id)
    ids["line_no"].append(line_no)
    body = {"order_id": order_id, "reason": "does not fit"}
    immediate = {"line_no": line_no, "quantity": 1, "disposition": "restock"}
    ret = api.call("pos", "POST", "/v1/returns", {**body, "mode": "immediate", "lines": [immediate]})
    ids["return_id"].append(ret["id"])
    for pool in ("receive_return_id", "close_return_id", "reject_return_id", "refund_return_id"):
        by_post = {**body, "mode": "authorization", "lines": [{"line_no": line_no, "quantity": 1}]}
        ret = api.call("contact_center", "POST", "/v1/returns", by_post)
        ids[pool].append(ret["id"])
    received = {"lines": [{"line_no": line_no, "quantity": 1, "disposition": "restock"}]}
    api.call("pos", "POST", f"/v1/returns/{ids['refund_return_id'][0]}/receive", received)


def _cart(api: Api, ids: dict[str, list[Any]]) -> None:
    cart = api.call("pos", "POST", "/v1/carts", {"lines": [{"sku": ids["sku"][0], "quantity": 1}]})
    ids["cart_id"].append(cart["id"])


def _hold(api: Api, ids: dict[str, list[Any]]) -> None:
    """Holds to lift (one per type: the examples pass lifts the first)."""
    order_id = ids["held_order_id"][0]
    for kind in ("fraud_review", "manual")[:SPARES]:
        hold = api.call("admin", "POST", f"/v1/orders/{order_id}/holds", {"type": kind, "reason": "fuzz seed"})
        ids["hold_id"].append(hold["id"])


def _reservation(api: Api, ids: dict[str, list[Any]]) -> None:
    """Till holds made by the POS (only their channel may settle them): one for every case, and
    some only consume's cases name (a release in between would leave nothing to sell)."""
    for n, pool in enumerate(["reservation_id"] + ["consume_reservation_id"] * SPARES):
        line = {"sku": _at_store(api)[0], "location": "STORE-BERLIN", "quantity": 1}
        reservation = api.call("pos", "POST", "/v1/reservations", {"reference": f"fuzz:{n}", "lines": [line]})
        ids[pool].append(reservation["id"])


def _transfer(api: Api, ids: dict[str, list[Any]]) -> None:
    body = {
        "from_location": "WH-NORTH",
        "to_location": "STORE-BERLIN",
        "lines": [{"sku": ids["sku"][2], "quantity": 1}],
    }
    for pool in ["receive_transfer_id"] * SPARES + ["cancel_transfer_id"] * SPARES + ["transfer_id"]:
        transfer = api.call("admin", "POST", "/v1/transfers", body)
        ids[pool].append(transfer["id"])
    for transfer_id in ids["receive_transfer_id"]:
        api.call("admin", "POST", f"/v1/transfers/{transfer_id}/dispatch")


def _deliveries(api: Api, ids: dict[str, list[Any]], env: dict[str, str]) -> None:
    """Run `oms worker` until the webhook has a delivery (failed: its address does not resolve
    here), so that replay has one to act on; then stop it, so it does not compete for the CPU."""
    worker = subprocess.Popen([str(BIN / "oms"), "worker", "--processes", "1"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ids.get("delivery_id"):
            time.sleep(2)
            path = f"/v1/webhooks/{ids['webhook_id'][0]}/deliveries"
            ids["delivery_id"] = [d["id"] for d in api.call("integration", "GET", path)["items"]]
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _location(api: Api, ids: dict[str, list[Any]]) -> None:
    """Locations to delete, named only by DELETE's cases (no stock, no orders ever reach them)."""
    for n in range(1, SPARES + 1):
        body = {"code": f"STORE-GONE-{n}", "name": "To delete", "kind": "store", "latitude": 50.1, "longitude": 8.7}
        location = api.call("admin", "POST", "/v1/locations", {**body, "time_zone": "Europe/Berlin"})
        ids["delete_location_code"].append(location["code"])


def _prices(api: Api, ids: dict[str, list[Any]]) -> None:
    """The first SKU's price (the example order's tender), the price ids of a few SKUs, and
    prices that start next month: only a price not yet effective can be withdrawn (DELETE)."""
    sku = ids["sku"][0]
    ids["order_sku_price"].append(api.call("admin", "GET", f"/v1/prices?sku={sku}")["items"][0]["amount"])
    for other in ids["sku"][:5]:
        ids["price_id"] += [price["id"] for price in api.call("admin", "GET", f"/v1/prices?sku={other}")["items"]]
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    for n in range(SPARES):
        body = {"sku": ids["sku"][n], "currency": "EUR", "amount": 1999 + n, "valid_from": later}
        ids["delete_price_id"].append(api.call("merchandiser", "POST", "/v1/prices", body)["id"])


def _webhook(api: Api, ids: dict[str, list[Any]]) -> None:
    """A webhook whose deliveries are replayed, and webhooks to delete (a random DELETE on the
    first would leave replay nothing to act on)."""
    body = {"url": "https://hooks.example.com/oms", "event_types": ["*"]}
    for pool in ["webhook_id"] + ["delete_webhook_id"] * SPARES:
        ids[pool].append(api.call("integration", "POST", "/v1/webhooks", body)["id"])


def _doomed(api: Api, ids: dict[str, list[Any]]) -> None:
    """API keys to revoke and promotions to delete, named by those DELETEs alone: the role keys
    the run uses and the promotions other operations read stay."""
    for n in range(SPARES):
        key = api.call("admin", "POST", "/v1/api-keys", {"name": f"fuzz to revoke {n}", "role": "merchandiser"})
        ids["revoke_key_id"].append(key["id"])
        body = {
            "kind": "order_percent_off",
            "name": f"Fuzz to delete {n}",
            "percent_bp": 100,
            "requires_code": True,
            "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400)),
        }
        ids["delete_promotion_id"].append(api.call("merchandiser", "POST", "/v1/promotions", body)["id"])


def _listed(api: Api, ids: dict[str, list[Any]]) -> None:
    """Ids the demo made, read back from the lists."""
    for path, name, field in [
        ("/v1/promotions", "promotion_id", "id"),
        ("/v1/price-zones", "zone_code", "code"),
        ("/v1/categories", "category_code", "code"),
        ("/v1/return-policies", "category_code", "category_code"),
        ("/v1/sourcing/rules/versions", "version", "version"),
        ("/v1/webhooks/{webhook_id}/deliveries", "delivery_id", "id"),
    ]:
        if "{webhook_id}" in path:
            if not ids.get("webhook_id"):
                continue
            path = path.replace("{webhook_id}", ids["webhook_id"][0])
        with contextlib.suppress(Exception):
            for item in api.call("admin", "GET", path)["items"]:
                ids[name].append(item[field])


# -- the schema


def request_examples(ids: dict[str, list[Any]]) -> dict[str, Any]:
    """One valid body per operation that takes one, naming seeded things: schemathesis' examples
    phase sends it as is, so each operation is reached at least once with data that passes."""
    sku, sku2 = ids["sku"][0], ids["sku"][1]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    first = lambda name, default="": (ids.get(name) or [default])[0]  # noqa: E731
    return {
        "POST /v1/categories": {"code": "fuzz-cat", "name": "Fuzz category"},
        "POST /v1/products": {"code": "FUZZ-1", "name": "Fuzz product", "variants": [{"sku": "FUZZ-1-M"}]},
        "PATCH /v1/products/{product_id}": {"description": "fuzzed"},
        "POST /v1/customers": {"name": "Another Shopper", "email": "another@example.com"},
        "PATCH /v1/customers/{customer_id}": {"marketing_consent": True},
        "POST /v1/customers/{customer_id}/merge": {"absorb": first("absorb_customer_id")},
        "POST /v1/customer-sessions": {"email": first("email", "fuzz.shopper@example.com")},
        "POST /v1/fulfillment-orders/{fo_id}/reject": {"reason": "no_staff"},
        "POST /v1/fulfillment-orders/{fo_id}/pack": {
            "parcels": [{"carrier": "fuzzpost", "tracking_number": "FZPACK0001"}]
        },
        "POST /v1/fulfillment-orders/{fo_id}/collect": (
            {"code": first("pickup_code")}
            if ids.get("pickup_code")
            else {"order_number": first("collect_order_number"), "phone": "+4930123456"}
        ),
        "POST /v1/carrier-events": {
            "carrier": "fuzzpost",
            "event_id": "fuzz-evt-1",
            "tracking_number": first("tracking_number", "FZ0"),
            "status": "in_transit",
        },
        "POST /v1/pick-lists": {"location_code": "WH-NORTH"},
        "POST /v1/parcels/received": {"tracking_number": first("inbound_tracking_number", "FZ0")},
        "POST /v1/pick-lists/{pick_list_id}/confirm": {"lines": [{"sku": sku, "found": 1}]},
        "PUT /v1/bins/{location_code}": {"bins": [{"sku": sku, "bin": "A-01-01"}]},
        "POST /v1/webhooks": {"url": "https://hooks.example.com/fuzz", "event_types": ["*"]},
        "POST /v1/locations": {
            "code": "STORE-FUZZ",
            "name": "Fuzz store",
            "kind": "store",
            "latitude": 52.5,
            "longitude": 13.4,
            "time_zone": "Europe/Berlin",
        },
        "PATCH /v1/locations/{code}": {"name": "Renamed by the fuzzer"},
        "POST /v1/stock/adjustments": {"sku": sku, "location": "WH-NORTH", "delta": 5, "reason": "receipt"},
        "POST /v1/stock/counts": {"location": "WH-NORTH", "lines": [{"sku": sku, "on_hand": 50}], "counted_at": now},
        "PATCH /v1/stock/{location}/{sku}": {"safety_stock": 1},
        "POST /v1/stock/sync": {
            "batch_id": "fuzz-sync-1",
            "location": "STORE-BERLIN",
            "lines": [{"sku": sku, "on_hand": 7, "counted_at": now}],
        },
        "POST /v1/transfers": {
            "from_location": "WH-NORTH",
            "to_location": "STORE-BERLIN",
            "lines": [{"sku": sku, "quantity": 1}],
        },
        "POST /v1/reservations": {
            "reference": "fuzz:example",
            "lines": [{"sku": sku, "location": "WH-NORTH", "quantity": 1}],
        },
        "POST /v1/reservations/{reservation_id}/release": {},
        "POST /v1/reservations/{reservation_id}/consume": {"sale_reference": "till-1"},
        "POST /v1/loyalty/cards/{number}/adjustments": {"points": 10, "reason": "goodwill"},
        "POST /v1/carts": {"lines": [{"sku": sku, "quantity": 1}]},
        "POST /v1/carts/{cart_id}/lines": {"sku": sku2, "quantity": 1},
        "PUT /v1/carts/{cart_id}/lines/{sku}": {"quantity": 2},
        "POST /v1/carts/{cart_id}/codes": {"code": "WELCOME10"},
        "POST /v1/carts/{cart_id}/assign": {"customer_id": first("customer_id")},
        "POST /v1/orders/{order_id}/cancel": {"reason": "changed my mind"},
        "POST /v1/orders/{order_id}/holds": {"type": "address_check", "reason": "check the street"},
        "POST /v1/orders/{order_id}/holds/{hold_id}/lift": {"note": "checked"},
        "POST /v1/orders": {
            "lines": [{"sku": sku, "quantity": 1}],
            "fulfillment": {"method": "delivery", "address": ADDRESS},
            "tenders": [{"kind": "card", "amount": first("order_sku_price", 1), "card_token": "tok_visa"}],
        },
        "POST /v1/returns": {
            "order_id": first("delivered_order_id"),
            "mode": "authorization",
            "reason": "too small",
            "lines": [{"line_no": first("line_no", 1), "quantity": 1}],
        },
        "POST /v1/returns/{return_id}/receive": {
            "lines": [{"line_no": first("line_no", 1), "quantity": 1, "disposition": "restock"}],
            "location_code": "STORE-BERLIN",
        },
        "POST /v1/exchanges": {
            "order_id": first("delivered_order_id"),
            "line_no": first("line_no", 1),
            "quantity": 1,
            "new_sku": first("exchange_sku", sku2),
            "reason": "another size",
            "location_code": "STORE-BERLIN",
            "paid_by": "cash",
        },
        "POST /v1/returns/{return_id}/close": {"reason": "done"},
        "POST /v1/returns/{return_id}/reject": {"reason": "worn"},
        "PUT /v1/return-policies/{category_code}": {"days": 60},
        "POST /v1/price-zones": {"code": "ZONE-FUZZ", "name": "Fuzz zone", "areas": [{"country": "AT"}]},
        "PATCH /v1/price-zones/{code}": {"name": "Fuzz zone renamed"},
        "POST /v1/prices": {"sku": sku, "currency": "EUR", "amount": 2599, "valid_from": later},
        "POST /v1/promotions": {
            "kind": "order_percent_off",
            "name": "Fuzz 5 %",
            "starts_at": now,
            "percent_bp": 500,
        },
        "PATCH /v1/promotions/{promotion_id}": {"priority": 5},
        "POST /v1/promotions/{promotion_id}/codes": {"generate": 3, "prefix": "FZ"},
        "POST /v1/pricing/quote": {"currency": "EUR", "lines": [{"sku": sku, "quantity": 2}]},
    }


# Parameters the example leaves out though a seed could fill them (the operation takes one of two).
UNSET_IN_EXAMPLES = {("GET /v1/returns", "customer_id")}


def add_examples(schema: dict[str, Any], ids: dict[str, list[Any]]) -> int:
    """Seeded values as the examples of path parameters, and a valid body per operation."""
    from fuzz_hooks import DEDICATED, pool

    bodies = request_examples(ids)
    added = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            pinned = DEDICATED.get(f"{method.upper()} {path}", {})
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if (f"{method.upper()} {path}", name) in UNSET_IN_EXAMPLES:
                    continue
                seeded = ids.get(pinned[name]) if name in pinned else pool(name, path, ids)
                if seeded and parameter["in"] in {"path", "query", "header"}:
                    parameter["example"] = seeded[0]
                    added += 1
            body = bodies.get(f"{method.upper()} {path}")
            content = operation.get("requestBody", {}).get("content", {})
            if body is not None and "application/json" in content:
                content["application/json"]["example"] = body
                added += 1
    return added


def add_links(schema: dict[str, Any]) -> int:
    """OpenAPI links from each create (POST answering 201 with an `id`) to every operation on
    that resource's `/{param}` paths, and from each action on a resource to the others: the
    stateful phase follows them (create → read → act)."""
    paths: dict[str, dict[str, Any]] = schema["paths"]
    added = 0
    for path, item in paths.items():
        create = item.get("post")
        if not create or "201" not in create.get("responses", {}):
            continue
        for target, target_item in paths.items():
            match = re.fullmatch(re.escape(path) + r"/\{(\w+)\}(/.*)?", target)
            if not match:
                continue
            param = match.group(1)
            for method, operation in target_item.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                links = create["responses"]["201"].setdefault("links", {})
                name = f"{method.upper()} {target}"
                field = "id" if param.endswith("_id") else param  # `/locations/{code}` ← the `code`
                links[name] = {
                    "operationId": operation["operationId"],
                    "parameters": {f"path.{param}": f"$response.body#/{field}"},
                }
                added += 1
    return added


def split_by_role(schema: dict[str, Any], access: dict[str, dict[str, set[str]]], role: str) -> tuple[dict, dict]:
    """The schema with only the operations `role` may call, and the one with the others."""
    allowed: dict[str, Any] = {}
    denied: dict[str, Any] = {}
    for path, item in schema["paths"].items():
        methods = access.get(path, {}).get(role, set())
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if path in access and method.upper() not in methods:
                denied.setdefault(path, {})[method] = operation
            elif path in access:
                allowed.setdefault(path, {})[method] = operation
    return {**schema, "paths": _links_within(allowed)}, {**schema, "paths": _links_within(denied)}


def _links_within(paths: dict[str, Any]) -> dict[str, Any]:
    """A copy whose links point only at operations it holds."""
    out = json.loads(json.dumps(paths))
    held = {operation["operationId"] for item in out.values() for operation in item.values()}
    for item in out.values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                links = response.get("links", {})
                for name in [n for n, link in links.items() if link["operationId"] not in held]:
                    del links[name]
                if "links" in response and not links:
                    del response["links"]
    return out


# -- the run


def stateful_config(work: Path, scenarios: int, steps: int) -> Path:
    """schemathesis' own settings for the stateful phase: `max-examples` there is the number of
    scenarios (state machine runs) and `max-steps` the calls each may chain; the CLI's
    `--max-examples` only sets the cases per operation of the other phases."""
    config = work / "schemathesis.toml"
    config.write_text(
        f"[phases.stateful]\nmax-steps = {steps}\n\n[phases.stateful.generation]\nmax-examples = {scenarios}\n"
    )
    return config


def schemathesis(
    schema_file: Path, base: str, key: str, examples: int, phases: str, work: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(work / "schemathesis.toml"),
            "run",
            str(schema_file),
            "--url",
            base,
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(examples),
            "--workers",
            "1",
            "--no-color",
            "--phases",
            phases,
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "15",
            "--seed",
            "12",
            "-H",
            f"Authorization: Bearer {key}",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=work,
        env=env,
    )


def plan_runs(roles: list[str], *, stateful: bool) -> list[tuple[str, str, str]]:
    """(role, allowed|denied, phases) in the order they run. First the examples pass of every
    role: each operation once with its valid example body and the seeded ids its action needs,
    before any generated case can change that state (hold the order, adjust the location's
    stock, ...). Then per role the generated phases on its operations, and the operations it may
    not call (examples and fuzzing: they must answer 401/403, never 5xx)."""
    generated = "coverage,fuzzing" + (",stateful" if stateful else "")
    runs = [(role, "allowed", "examples") for role in roles]
    for role in roles:
        runs += [(role, "allowed", generated), (role, "denied", "examples,fuzzing")]
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40, help="cases per operation a role may call")
    parser.add_argument("--denied-examples", type=int, default=3, help="cases per operation a role may not call")
    parser.add_argument("--roles", default=",".join(ROLE_LABELS), help="comma-separated roles to run")
    parser.add_argument("--no-stateful", action="store_true", help="leave out the stateful phase")
    parser.add_argument("--stateful-scenarios", type=int, default=40, help="stateful scenarios per role")
    parser.add_argument("--stateful-steps", type=int, default=10, help="calls per stateful scenario, at most")
    parser.add_argument("--results", type=Path, help="also write the per-operation table to this file")
    args = parser.parse_args()
    base_url = os.environ["DATABASE_URL"]
    work = Path(tempfile.mkdtemp(prefix="oms-fuzz-"))
    url = recreate_database(base_url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "OMS_DATA_DIR": str(work),
        "OMS_LOG_LEVEL": "ERROR",
        "OMS_OUTBOX_STREAM": "oms:fuzz:events",
        "OMS_QUEUE_NAMESPACE": "oms-fuzz",
    }
    subprocess.run([str(BIN / "oms"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    keys = json.loads((work / "demo-keys.json").read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "oms"), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE)
    started = time.monotonic()
    try:
        _wait_ready(base)
        api = Api(base, keys)
        ids = seed(api)
        if ids.get("webhook_id"):
            _deliveries(api, ids, env)
        print("seeded:", {name: len(values) for name, values in ids.items()})
        schema = httpx.get(f"{base}/schema/openapi.json").json()
        print("links added:", add_links(schema))
        print("examples added:", add_examples(schema, ids))
        from ops.security_table import access_by_path

        access, _public = access_by_path()
        stats = work / "stats.tsv"
        hook_env = {
            **env,
            "PYTHONPATH": str(Path(__file__).parent),
            "SCHEMATHESIS_HOOKS": "fuzz_hooks",
            "OMS_FUZZ_SEEDS": json.dumps(ids),
            "OMS_FUZZ_STATS": str(stats),
            "OMS_FUZZ_DETAILS": str(work / "refusals.tsv"),
        }
        failures: list[str] = []
        stateful_config(work, args.stateful_scenarios, args.stateful_steps)
        for role, kind, run_phases in plan_runs(args.roles.split(","), stateful=not args.no_stateful):
            part = split_by_role(schema, access, role)[kind == "denied"]
            examples = args.examples if kind == "allowed" else args.denied_examples
            if not part["paths"] or examples == 0:
                continue
            name = f"{role}-{kind}-{run_phases.replace(',', '+')}"
            schema_file = work / f"{name}.json"
            schema_file.write_text(json.dumps(part))
            t0 = time.monotonic()
            result = schemathesis(
                schema_file,
                base,
                keys[ROLE_LABELS[role]],
                examples,
                run_phases,
                work,
                {**hook_env, "OMS_FUZZ_ROLE": role, "OMS_FUZZ_KIND": kind},
            )
            (work / f"{name}.out").write_text(result.stdout + result.stderr)
            print(f"{role:<15} {kind:<8} {run_phases:<32} exit {result.returncode}  {time.monotonic() - t0:6.1f} s")
            sys.stdout.flush()
            if result.returncode != 0:
                failures.append(f"{name}: see {work / f'{name}.out'}")
        table, summary = report(stats, schema)
        summary += "\n" + stateful_depth(work)
        print(table)
        print(summary)
        print(f"wall time {time.monotonic() - started:.0f} s; outputs in {work}")
        if args.results:
            args.results.write_text(summary + "\n\n" + table)
        for failure in failures:
            print("FAILED", failure)
        return 1 if failures or "5xx 0 " not in summary else 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("oms serve did not become ready")


def stateful_depth(work: Path) -> str:
    """Per role, what schemathesis says of its stateful phase: scenarios run, links followed."""
    parts = []
    for out in sorted(work.glob("*-allowed-*stateful.out")):
        text = out.read_text()
        scenarios = re.search(r"Scenarios:\s+(\d+)", text)
        links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", text)
        role = out.name.split("-allowed-")[0]
        if scenarios and links:
            parts.append(f"{role} {scenarios.group(1)} scenarios, {links.group(1)}/{links.group(2)} links")
    return "stateful: " + ("; ".join(parts) or "not run")


def report(stats: Path, schema: dict[str, Any]) -> tuple[str, str]:
    """Per operation: cases, 2xx (all, and in the generated phases alone), 4xx, 5xx, and the
    roles whose keys got a 2xx; then the totals, and the operations whose only 2xx came from
    the examples pass (reached with valid data, but never by a generated case)."""
    cases: Counter[str] = Counter()
    by_class: dict[str, Counter[str]] = defaultdict(Counter)
    generated_ok: Counter[str] = Counter()
    ok_roles: dict[str, set[str]] = defaultdict(set)
    phases: Counter[str] = Counter()
    by_role: Counter[str] = Counter()
    stateful_by_role: Counter[str] = Counter()
    lines = stats.read_text().splitlines() if stats.exists() else []
    for line in lines:
        role, _kind, phase, operation, status = line.split("\t")
        cases[operation] += 1
        by_class[operation][status[0] + "xx"] += 1
        if status.startswith("2"):
            ok_roles[operation].add(role)
            generated_ok[operation] += phase != "examples"
        phases[phase] += 1
        by_role[role] += 1
        stateful_by_role[role] += phase == "stateful"
    operations = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    rows = [
        "| operation | cases | 2xx | 2xx generated | 4xx | 5xx | roles with a 2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for op in sorted(operations, key=lambda o: (o.split(" ", 1)[1], o)):
        c = by_class[op]
        roles = ", ".join(sorted(ok_roles[op]))
        rows.append(f"| `{op}` | {cases[op]} | {c['2xx']} | {generated_ok[op]} | {c['4xx']} | {c['5xx']} | {roles} |")
    fuzzed = [op for op in operations if cases[op]]
    reached = [op for op in fuzzed if by_class[op]["2xx"]]
    only_examples = [op for op in reached if not generated_ok[op]]
    never = [op for op in fuzzed if not by_class[op]["2xx"]]
    total = sum(cases.values())
    fives = sum(c["5xx"] for c in by_class.values())
    summary = "\n".join(
        [
            f"requests {total} ({', '.join(f'{k} {v}' for k, v in phases.most_common())})",
            f"by key: {', '.join(f'{k} {v}' for k, v in by_role.most_common())}",
            f"stateful requests by key: {', '.join(f'{k} {v}' for k, v in stateful_by_role.most_common())}",
            f"operations {len(operations)}, fuzzed {len(fuzzed)}, with a 2xx {len(reached)}, "
            f"with a 2xx from a generated case {len(reached) - len(only_examples)}",
            f"never a 2xx: {', '.join(never) or 'none'}",
            f"a 2xx only in the examples pass: {', '.join(only_examples) or 'none'}",
            f"5xx {fives} ",
        ]
    )
    return "\n".join(rows), summary


if __name__ == "__main__":
    sys.exit(main())
