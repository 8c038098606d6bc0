"""The channel dashboard's figures against hand-computed ones.

Seven orders placed through the API in all five channels on 2 March 2026 (clock frozen),
worked through fulfillment and returns through the API, then the reports' consumer run
over every published event (what `reports.refresh_order` does), twice (at-least-once
delivery must change nothing). Every expected number below is worked out by hand in the
comments from the shop's prices (shirt 2500, sock 500).

The shop: WH-TEST, a warehouse in Lyon (shirts S and M, no socks); STORE-TEST, a Paris
store that ships and takes pickups (shirts S and socks, no size M) — the kiosk and POS keys
are bound to it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.core import clock
from app.core.models import OutboxEvent
from app.flows import earn_points, fulfillment_progress
from app.loyalty import service as loyalty
from app.pricing import service as pricing
from app.pricing.schemas import PriceCreate
from app.reports import service as reports
from app.reports.rules import COUNTERS
from tests.conftest import Api
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory
from tests.factories.inventory import LocationFactory, make_locations, receive
from tests.factories.orders import GUEST_CONTACT

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARIS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR",
         "latitude": 48.8566, "longitude": 2.3522}  # fmt: skip
LYON = {"line1": "1 Place Bellecour", "city": "Lyon", "postal_code": "69002", "country": "FR",
        "latitude": 45.757, "longitude": 4.832}  # fmt: skip
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


async def _shop(db: AsyncSession) -> None:
    apparel = CategoryFactory(code="apparel")
    shirt, socks = ProductFactory(category=apparel), ProductFactory(category=apparel)
    await persist(
        db, apparel, shirt, socks, VariantFactory(product=shirt, sku="SHIRT-S"),
        VariantFactory(product=shirt, sku="SHIRT-M"), VariantFactory(product=socks, sku="SOCK"),
    )  # fmt: skip
    await make_locations(
        db,
        LocationFactory(code="WH-TEST", kind="warehouse", latitude=45.76, longitude=4.83),
        LocationFactory(code="STORE-TEST", kind="store", ships=True, latitude=48.8566, longitude=2.3522),
    )
    for sku, amount in (("SHIRT-S", 2500), ("SHIRT-M", 2500), ("SOCK", 500)):
        await pricing.set_price(db, PriceCreate(sku=sku, currency="EUR", amount=amount))
    await receive(db, "SHIRT-S", "WH-TEST", 20)
    await receive(db, "SHIRT-M", "WH-TEST", 20)
    await receive(db, "SHIRT-S", "STORE-TEST", 10)
    await receive(db, "SOCK", "STORE-TEST", 10)
    await db.commit()


def _body(lines: dict[str, int], tenders: list[dict[str, Any]], *, address: dict[str, Any] | None = None,
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    where = {"fulfillment": {"method": "delivery", "address": address}} if address else {
        "fulfillment": {"method": "pickup", "location": "STORE-TEST"}, "contact": GUEST_CONTACT}  # fmt: skip
    return {"lines": [{"sku": s, "quantity": q} for s, q in lines.items()], **where, "tenders": tenders, **extra}


def _card(amount: int) -> list[dict[str, Any]]:
    return [{"kind": "card", "amount": amount, "card_token": "tok_visa"}]


async def _place(api: Api, label: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    r = await api.as_(label).post("/v1/orders", json=body, headers={"X-Customer-Token": token} if token else {})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _fos(api: Api, order: dict[str, Any]) -> list[dict[str, Any]]:
    r = await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def _fo(api: Api, order: dict[str, Any], location: str, type_: str | None = None) -> dict[str, Any]:
    [fo] = [
        f for f in await _fos(api, order)
        if f["location_code"] == location and (type_ is None or f["type"] == type_) and f["status"] != "rejected"
    ]  # fmt: skip
    return fo


async def _post(api: Api, label: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await api.as_(label).post(url, json=body) if body is not None else await api.as_(label).post(url)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _pick_all(api: Api, label: str) -> None:
    pick_list = await _post(api, label, "/v1/pick-lists", {})
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    await _post(api, label, f"/v1/pick-lists/{pick_list['id']}/confirm", {"lines": found})


async def _pickup_code(db: AsyncSession, fo_id: str) -> str:
    event = (
        await db.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "fulfillment.pickup_ready", OutboxEvent.aggregate_id == fo_id)
        )
    ).one()
    return str(event.payload["pickup_code"])


async def _consume_events(db: AsyncSession) -> int:
    """What the relay and `reports.refresh_order` do with every committed event."""
    changed = 0
    for event_id in (await db.scalars(select(OutboxEvent.event_id).order_by(OutboxEvent.id))).all():
        changed += await reports.refresh_for_event(db, str(event_id))
    await db.commit()
    return changed


async def _earn_points(db: AsyncSession) -> None:
    """What loyalty's consumer (the earn-points flow) does with the delivered/collected events."""
    events = select(OutboxEvent.event_id).where(OutboxEvent.type.in_(loyalty.EARNING_EVENTS)).order_by(OutboxEvent.id)
    for event_id in (await db.scalars(events)).all():
        await earn_points.earn_for_event(db, str(event_id))
    await db.commit()


async def _seven_orders(api: Api, db: AsyncSession) -> None:
    """The orders and everything that happens to them (see the module docstring)."""
    clock.freeze(T0)
    await _shop(db)
    web_customer = (await _post(api, "storefront", "/v1/customers", {"name": "Ada", "email": "ada@example.com"}))["id"]
    token = (await _post(api, "storefront", f"/v1/customers/{web_customer}/tokens"))["token"]
    phone_customer = await _post(api, "contact_center", "/v1/customers", {"name": "Bob"})
    await _post(
        api, "admin", f"/v1/loyalty/cards/{phone_customer['card_number']}/adjustments",
        {"points": 500, "reason": "welcome"},
    )  # fmt: skip

    # O1 web, member, to Lyon: 2 x S from the warehouse (nearest) = 5000.
    o1 = await _place(
        api, "storefront", _body({"SHIRT-S": 2}, _card(5000), address=LYON, customer_id=web_customer), token
    )
    # O2 app, guest, to Paris: 1 x S from the Paris store (ship-from-store) = 2500; the store rejects it.
    o2 = await _place(api, "app", _body({"SHIRT-S": 1}, _card(2500), address=PARIS))
    # O3 contact center, member, to Paris: sock only in the store, M only in the warehouse: split,
    # 500 + 2500 = 3000, 500 of it paid with 500 points.
    o3 = await _place(
        api, "contact_center",
        _body({"SOCK": 1, "SHIRT-M": 1}, [
            {"kind": "loyalty_points", "amount": 500, "loyalty_card": phone_customer["card_number"]},
            *_card(2500)], address=PARIS, customer_id=phone_customer["id"]),
    )  # fmt: skip
    # O4 kiosk, pickup at its store: S from the store (BOPIS), M the store lacks (ship-to-store,
    # the endless aisle) = 5000. O5 kiosk, pickup: 2 socks (BOPIS) = 1000.
    o4 = await _place(api, "kiosk", _body({"SHIRT-S": 1, "SHIRT-M": 1}, _card(5000)))
    assert {f["type"] for f in await _fos(api, o4)} == {"pickup", "ship_to_store"}
    o5 = await _place(api, "kiosk", _body({"SOCK": 2}, _card(1000)))
    # O6 POS, pickup: 1 x S = 2500, never collected. O7 POS, pickup: 1 sock = 500.
    o6 = await _place(api, "pos", _body({"SHIRT-S": 1}, _card(2500)))
    o7 = await _place(api, "pos", _body({"SOCK": 1}, _card(500)))

    await _post(api, "pos", f"/v1/fulfillment-orders/{(await _fo(api, o2, 'STORE-TEST'))['id']}/reject",
                {"reason": "no_staff"})  # fmt: skip
    assert (await _fo(api, o2, "WH-TEST"))["type"] == "delivery"  # re-sourced to the warehouse
    await _post(api, "pos", f"/v1/fulfillment-orders/{(await _fo(api, o3, 'STORE-TEST'))['id']}/accept")

    # Pickups made ready 30 min (O7), 1 h (O6), 2 h (O5) after placement; O5 and O7 collected.
    clock.freeze(T0 + timedelta(minutes=30))
    await _pick_all(api, "pos")
    pickups = {o["number"]: await _fo(api, o, "STORE-TEST", "pickup") for o in (o5, o6, o7)}
    for order, minutes in ((o7, 30), (o6, 60), (o5, 120)):
        clock.freeze(T0 + timedelta(minutes=minutes))
        await _post(api, "pos", f"/v1/fulfillment-orders/{pickups[order['number']]['id']}/ready")
    for order in (o5, o7):
        fo_id = pickups[order["number"]]["id"]
        await _post(api, "pos", f"/v1/fulfillment-orders/{fo_id}/collect", {"code": await _pickup_code(db, fo_id)})

    # O1 shipped 3 h after placement and delivered.
    clock.freeze(T0 + timedelta(hours=3))
    await _pick_all(api, "logistics")
    fo1 = await _fo(api, o1, "WH-TEST")
    parcel = {"carrier": "colissimo", "tracking_number": "CP0000000001"}
    await _post(api, "logistics", f"/v1/fulfillment-orders/{fo1['id']}/pack", {"parcels": [parcel]})
    await _post(api, "logistics", f"/v1/fulfillment-orders/{fo1['id']}/ship")
    await _post(api, "integration", "/v1/carrier-events", {**parcel, "event_id": "ev-1", "status": "delivered"})
    await _earn_points(db)

    # Returns at the store's till: one of O1's shirts (bought on the web: cross-channel) and O7's sock.
    clock.freeze(T0 + timedelta(hours=4))
    for order in (o1, o7):
        await _post(api, "pos", "/v1/returns", {
            "order_number": order["number"], "mode": "immediate", "reason": "changed mind",
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}]})  # fmt: skip

    # O6 is not collected: expired after 5 days (the `fulfillment.expire_pickups` job's body: the flow).
    clock.freeze(T0 + timedelta(days=6))
    assert await fulfillment_progress.expire_pickups(db) == 1
    await db.commit()


async def test_figures_match_the_hand_computed_ones(api: Api, db: AsyncSession) -> None:
    await _seven_orders(api, db)
    assert await _consume_events(db) == 7  # every order got a contribution
    assert await _consume_events(db) == 0  # delivered again: nothing changes

    r = await api.as_("integration").get("/v1/reports/channels", params=MARCH)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["start"], report["end"], report["currency"]) == (
        "2026-03-01T00:00:00Z",
        "2026-04-01T00:00:00Z",
        "EUR",
    )

    # Not-cancelled orders: web O1, app O2, contact center O3, kiosk O4+O5, POS O7 (O6 cancelled
    # by its expiry). Revenue 5000 / 2500 / 3000 / 5000+1000 / 500 = 17000.
    by_channel = {c["channel"]: c for c in report["by_channel"]}
    assert [
        (c, by_channel[c]["orders"], by_channel[c]["cancelled_orders"], by_channel[c]["revenue"],
         by_channel[c]["average_order_value"], by_channel[c]["units"], by_channel[c]["units_per_order"],
         by_channel[c]["revenue_share"])
        for c in ("web", "app", "kiosk", "contact_center", "pos")
    ] == [
        ("web", 1, 0, 5000, 5000, 2, 2.0, 0.2941),  # 5000 / 17000
        ("app", 1, 0, 2500, 2500, 1, 1.0, 0.1471),
        ("kiosk", 2, 0, 6000, 3000, 4, 2.0, 0.3529),
        ("contact_center", 1, 0, 3000, 3000, 2, 2.0, 0.1765),
        ("pos", 1, 1, 500, 500, 1, 1.0, 0.0294),
    ]  # fmt: skip
    # 17000 / 6 = 2833.33 -> 2833; 10 units / 6 orders = 1.67.
    assert report["totals"] == {
        "channel": "all", "orders": 6, "cancelled_orders": 1, "revenue": 17000, "average_order_value": 2833,
        "units": 10, "units_per_order": 1.67, "revenue_share": 1.0,
    }  # fmt: skip

    # delivery: O1 (2 x S, 5000) + O3's M (2500); ship-from-store: O2's S (2500) + O3's sock (500);
    # BOPIS: O4's S (2500), O5's socks (2 units, 1000), O7's sock (500); ship-to-store: O4's M (2500).
    assert [(m["method"], m["orders"], m["lines"], m["units"], m["revenue"], m["revenue_share"])
            for m in report["fulfillment_mix"]] == [
        ("delivery", 2, 2, 3, 7500, 0.4412),
        ("ship_from_store", 2, 2, 2, 3000, 0.1765),
        ("bopis", 3, 3, 4, 4000, 0.2353),
        ("ship_to_store", 1, 1, 1, 2500, 0.1471),
    ]  # fmt: skip

    # Both returns came back at the POS: O1 bought on the web (cross-channel), O7 at the POS.
    assert report["returns_matrix"] == [
        {"sale_channel": "web", "return_channel": "pos", "returns": 1, "units": 1, "refunded": 2500},
        {"sale_channel": "pos", "return_channel": "pos", "returns": 1, "units": 1, "refunded": 500},
    ]
    # O5 and O7 collected, O6 expired: 1 no-show of 3.
    assert report["pickup"] == {"outcomes": 3, "collected": 2, "no_shows": 1, "no_show_rate": 0.3333}
    # Store delivery FOs: O2's (rejected, no staff) and O3's (accepted).
    assert report["ship_from_store"] == {"fulfillment_orders": 2, "rejected": 1, "rejection_rate": 0.5}
    assert report["ship_from_store_reasons"] == [{"reason": "no_staff", "rejections": 1}]
    # Delivery orders O1, O2, O3; O3 from two locations.
    assert report["split_shipments"] == {"delivery_orders": 3, "split_orders": 1, "split_rate": 0.3333}
    # Shipped: O1 after 3 h (edge 3 h). Ready: 30 min, 1 h, 2 h -> half within 1 h, 90 % within 2 h.
    assert report["lead_times"] == [
        {"measure": "order_to_ship", "count": 1, "p50_seconds": 10800.0, "p90_seconds": 10800.0},
        {"measure": "order_to_ready", "count": 3, "p50_seconds": 3600.0, "p90_seconds": 7200.0},
    ]
    # Members: O1 (5000) and O3 (3000) of 17000. Points: O1's delivery earned 50 (1 per euro);
    # O3 redeemed 500 (the welcome adjustment is neither).
    assert report["loyalty"] == {
        "member_orders": 2, "member_revenue": 8000, "member_revenue_share": 0.4706,
        "points_issued": 50, "points_redeemed": 500,
    }  # fmt: skip
    # Kiosk: O4 had the M the store lacked (1 line, 2500); O5 did not.
    assert report["kiosk_endless_aisle"] == {
        "kiosk_orders": 2, "endless_aisle_orders": 1, "endless_aisle_share": 0.5, "lines": 1, "units": 1,
        "revenue": 2500,
    }  # fmt: skip
    assert report["endless_aisle_skus"] == [{"sku": "SHIRT-M", "lines": 1, "units": 1}]
    assert report["daily"] == [
        {"day": "2026-03-02", "channel": c, "orders": n, "revenue": rev}
        for c, n, rev in (("app", 1, 2500), ("contact_center", 1, 3000), ("kiosk", 2, 6000), ("pos", 1, 500),
                          ("web", 1, 5000))
    ]  # fmt: skip


async def test_locations_split_the_figures_without_counting_twice(api: Api, db: AsyncSession) -> None:
    await _seven_orders(api, db)
    await _consume_events(db)
    warehouse = (await api.as_("admin").get("/v1/reports/channels", params={**MARCH, "location": "WH-TEST"})).json()
    store = (await api.as_("admin").get("/v1/reports/channels", params={**MARCH, "location": "STORE-TEST"})).json()
    both = (
        await api.as_("admin").get("/v1/reports/channels", params={**MARCH, "location": ["STORE-TEST", "WH-TEST"]})
    ).json()
    # O1 counts at the warehouse (its first line ships from there); O2 and O3 at the store (their
    # first line was sourced there); the kiosk and POS orders where they were placed.
    assert (warehouse["totals"]["orders"], warehouse["totals"]["revenue"]) == (1, 5000)
    assert (store["totals"]["orders"], store["totals"]["revenue"]) == (5, 12000)
    assert both["totals"] == (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()["totals"]
    # Both returns came back at the store; the shipment left the warehouse.
    assert warehouse["returns_matrix"] == [] and len(store["returns_matrix"]) == 2
    assert [t["count"] for t in warehouse["lead_times"]] == [1, 0]
    assert [t["count"] for t in store["lead_times"]] == [0, 3]
    # Another month has nothing.
    april = (
        await api.as_("admin").get("/v1/reports/channels", params={"from": "2026-04-01", "to": "2026-04-30"})
    ).json()
    assert april["totals"]["orders"] == 0 and april["daily"] == [] and april["pickup"]["no_show_rate"] is None


async def test_whole_months_and_partial_ones_give_the_same_figures(api: Api, db: AsyncSession) -> None:
    """A period's whole months come from the monthly summary, its other days from the daily
    one: March alone (one whole month), 15 Feb to 10 Apr (partial February and April around
    March), 2 to 8 March (days only) count the same orders, all placed, worked and returned
    between 2 and 8 March, at every location filter."""
    await _seven_orders(api, db)
    await _consume_events(db)

    async def figures(params: dict[str, Any]) -> dict[str, Any]:
        body = dict((await api.as_("admin").get("/v1/reports/channels", params=params)).json())
        return {k: v for k, v in body.items() if k not in ("start", "end")}

    for where in ({}, {"location": "STORE-TEST"}, {"location": "WH-TEST"}):
        march = await figures({**MARCH, **where})
        assert march["totals"]["orders"] > 0
        assert await figures({"from": "2026-02-15", "to": "2026-04-10", **where}) == march, where
        assert await figures({"from": "2026-03-02", "to": "2026-03-08", **where}) == march, where
    # From 3 March on, the orders of the 2nd are not counted.
    assert (await figures({"from": "2026-03-03", "to": "2026-03-31"}))["totals"]["orders"] == 0


async def test_points_are_the_same_folded_or_read_live(api: Api, db: AsyncSession) -> None:
    """The points per day folded by `reports.fold_points` plus the ledger rows recorded since
    = the whole ledger: before any fold (all live), after folding everything, and a second
    fold adds nothing; rows recorded within the margin stay live."""
    await _seven_orders(api, db)
    await _consume_events(db)
    live = (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()["loyalty"]
    assert live["points_issued"] > 0 and live["points_redeemed"] == 500
    first, last = (await db.execute(text("SELECT min(recorded_at), max(recorded_at) FROM loyalty_ledger"))).one()
    clock.freeze(first + reports.POINTS_FOLD_MARGIN - timedelta(seconds=1))
    assert await reports.fold_points(db)  # the mark moves, but the rows are recorded after it
    await db.commit()
    assert await db.scalar(text("SELECT count(*) FROM report_points_daily")) == 0
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()["loyalty"] == live
    clock.freeze(last + reports.POINTS_FOLD_MARGIN + timedelta(seconds=1))
    assert await reports.fold_points(db)
    await db.commit()
    folded = (await db.execute(text("SELECT sum(issued), sum(redeemed) FROM report_points_daily"))).one()
    assert tuple(folded) == (live["points_issued"], live["points_redeemed"])
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()["loyalty"] == live
    assert not await reports.fold_points(db)  # nothing new: the mark is already there
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()["loyalty"] == live


async def test_each_table_exports_as_csv(api: Api, db: AsyncSession) -> None:
    await _seven_orders(api, db)
    await _consume_events(db)
    r = await api.as_("integration").get("/v1/reports/channels.csv", params={**MARCH, "table": "by_channel"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="channels-by_channel.csv"' in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == "channel,orders,cancelled_orders,revenue,average_order_value,units,units_per_order,revenue_share"
    assert lines[1] == "web,1,0,5000,5000,2,2.0,0.2941"
    assert len(lines) == 6
    matrix = await api.as_("admin").get("/v1/reports/channels.csv", params={**MARCH, "table": "returns_matrix"})
    assert matrix.text.splitlines() == [
        "sale_channel,return_channel,returns,units,refunded",
        "web,pos,1,1,2500",
        "pos,pos,1,1,500",
    ]
    pickup = await api.as_("admin").get("/v1/reports/channels.csv", params={**MARCH, "table": "pickup"})
    assert pickup.text.splitlines() == ["outcomes,collected,no_shows,no_show_rate", "3,2,1,0.3333"]


async def test_bad_periods_and_tables_are_400_problems(api: Api) -> None:
    admin = api.as_("admin")
    for params, field in (
        ({"from": "2026-02-30", "to": "2026-03-31"}, "from"),
        ({"from": "yesterday", "to": "2026-03-31"}, "from"),
        ({"from": "2026-03-01", "to": "2026-03-01T10:00:00Z"}, "to"),
        ({"from": "2026-04-01", "to": "2026-03-31"}, "from"),
        ({"from": "2025-01-01", "to": "2026-03-31"}, "to"),  # 455 days
        ({"to": "0001-01-11"}, "to"),  # the default 30 days would start before year 1 (was a 500)
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),  # its end, the day after, is past 9999
    ):
        r = await admin.get("/v1/reports/channels", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["code"], r.json()["extra"]["field"]) == ("invalid_period", field)
    r = await admin.get("/v1/reports/channels", params={**MARCH, "location": [f"S{i}" for i in range(51)]})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_locations")
    r = await admin.get("/v1/reports/channels.csv", params={**MARCH, "table": "secrets"})
    assert (r.status_code, r.json()["code"]) == (400, "unknown_report_table")
    # 400 days is the limit: allowed.
    assert (
        await admin.get("/v1/reports/channels", params={"from": "2025-03-01", "to": "2026-04-04"})
    ).status_code == 200


async def test_only_admin_and_integration_keys_read_the_figures(api: Api) -> None:
    for label in ("admin", "integration"):
        assert (await api.as_(label).get("/v1/reports/channels", params=MARCH)).status_code == 200
    for label in ("storefront", "app", "kiosk", "pos", "contact_center", "merchandiser", "logistics"):
        r = await api.as_(label).get("/v1/reports/channels", params=MARCH)
        assert r.status_code == 403, label
        assert (await api.as_(label).get("/v1/reports/channels.csv", params={"table": "daily"})).status_code == 403
    assert (await api.as_(None).get("/v1/reports/channels")).status_code == 401


async def test_an_unknown_or_foreign_event_refreshes_nothing(db: AsyncSession) -> None:
    assert await reports.refresh_for_event(db, str(uuid.uuid4())) == 0
    assert await reports.refresh_for_event(db, "not-an-id") == 0


async def _summary(db: AsyncSession) -> tuple[list[Any], list[Any], list[Any]]:
    """The summary tables' rows that count (a delta summing to zero may leave a row of zeros)."""
    nonzero = " OR ".join(f"{c} <> 0" for c in COUNTERS)
    daily = await db.execute(text(f"SELECT * FROM report_daily WHERE {nonzero} ORDER BY day, channel, location"))
    skus = await db.execute(
        text("SELECT * FROM report_endless_aisle_skus WHERE lines <> 0 OR units <> 0 ORDER BY day, location, sku")
    )
    monthly = await db.execute(text(f"SELECT * FROM report_monthly WHERE {nonzero} ORDER BY 1, 2, 3"))
    return [tuple(r) for r in daily], [tuple(r) for r in skus], [tuple(r) for r in monthly]


async def _bulk_rebuild(db: AsyncSession, limit: int) -> None:
    """`oms reports rebuild`'s steps (app/cli/reports_rebuild.py), one transaction each."""
    await reports.begin_rebuild(db)
    await db.commit()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        after = await reports.rebuild(db, after, limit=limit)
        await db.commit()
        if after is None:
            break
    await reports.end_rebuild(db)
    await db.commit()


async def test_a_bulk_rebuild_gives_the_consumers_summary(api: Api, db: AsyncSession) -> None:
    """`oms reports rebuild` (every order's contribution recorded, then the summary tables in
    bulk from them) = what the consumer's per-event deltas added up to, row for row: all
    five channels, both fulfillment modes, a rejection, pickups collected and expired, the
    cross-channel return (bought on the web, returned at a till), and an order placed, counted,
    then cancelled (its delta subtracted)."""
    await _seven_orders(api, db)
    await _consume_events(db)
    late = await _place(api, "app", _body({"SHIRT-M": 1}, _card(2500), address=LYON))
    assert await _consume_events(db) == 1
    await _post(api, "app", f"/v1/orders/{late['id']}/cancel", {"reason": "changed mind"})
    assert await _consume_events(db) == 1
    incremental = await _summary(db)
    before = (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()
    assert {row[1] for row in incremental[0]} == {"web", "app", "kiosk", "contact_center", "pos"}
    assert before["totals"]["cancelled_orders"] == 2  # one of the seven, and the late one
    assert before["returns_matrix"][0] == {
        "sale_channel": "web", "return_channel": "pos", "returns": 1, "units": 1, "refunded": 2500
    }  # fmt: skip

    await _bulk_rebuild(db, limit=3)
    assert await _summary(db) == incremental
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json() == before
    assert await _consume_events(db) == 0  # the recorded contributions are the consumer's


async def test_a_rebuild_repairs_a_damaged_summary(api: Api, db: AsyncSession) -> None:
    """From scratch (installed on existing orders) or over a summary gone wrong: the rebuild
    replaces it by the orders' figures."""
    await _seven_orders(api, db)
    await _consume_events(db)
    before = (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()
    await db.execute(text("UPDATE report_daily SET orders = orders + 100"))
    await db.execute(text("TRUNCATE report_order_facts"))
    await db.commit()
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json() != before
    await _bulk_rebuild(db, limit=1000)
    assert (await api.as_("admin").get("/v1/reports/channels", params=MARCH)).json() == before


def test_the_worker_refreshes_the_summary_on_order_fulfillment_and_return_events() -> None:
    from app.core.outbox import consumers_of
    from app.reports.jobs import refresh_order

    for event_type in ("order.placed", "order.cancelled", "fulfillment.shipped", "return.refunded"):
        assert refresh_order.send in consumers_of(event_type)


async def test_concurrent_refreshes_of_one_order_count_it_once(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    """Events are delivered at least once and workers run in parallel: four refreshes of the
    same order at once (separate connections) still count it once."""
    clock.freeze(T0)
    async with committed() as session:
        await _shop(session)
    order = await _place(committed_api, "app", _body({"SHIRT-S": 1}, _card(2500), address=PARIS))

    async def refresh() -> int:
        async with committed() as session:
            changed = await reports.refresh_orders(session, [uuid.UUID(order["id"])])
            await session.commit()
            return changed

    assert sorted(await asyncio.gather(*(refresh() for _ in range(4)))) == [0, 0, 0, 1]
    report = (await committed_api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()
    assert (report["totals"]["orders"], report["totals"]["revenue"]) == (1, 2500)
    assert report["fulfillment_mix"][1] == {
        "method": "ship_from_store", "orders": 1, "lines": 1, "units": 1, "revenue": 2500, "revenue_share": 1.0
    }  # fmt: skip


async def test_oms_reports_rebuild_builds_the_summary_and_vacuums_it(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    """The command itself, on committed orders one of which the consumer never saw: the
    summary counts both, and comes out vacuumed (no manual step after a rebuild)."""
    clock.freeze(T0)
    async with committed() as session:
        await _shop(session)
    seen = await _place(committed_api, "app", _body({"SHIRT-S": 1}, _card(2500), address=PARIS))
    await _place(committed_api, "storefront", _body({"SHIRT-M": 1}, _card(2500), address=LYON))
    async with committed() as session:
        assert await reports.refresh_orders(session, [uuid.UUID(seen["id"])]) == 1
        await session.commit()
    result = await asyncio.to_thread(CliRunner().invoke, main, ["reports", "rebuild", "--batch", "1"])
    assert result.exit_code == 0, result.output
    report = (await committed_api.as_("admin").get("/v1/reports/channels", params=MARCH)).json()
    assert (report["totals"]["orders"], report["totals"]["revenue"]) == (2, 5000)
    async with committed() as session:
        vacuumed = await session.scalar(
            text("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'report_daily'")
        )
    assert vacuumed
