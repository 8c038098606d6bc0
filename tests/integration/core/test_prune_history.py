"""`oms prune --before`: old months exported, then dropped, without breaking `oms check`, stock
as of any time inside the retention window, or the event feed's cursor; refused while an old
month still matters; safe while orders are placed."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.core import clock, partitions
from app.inventory import service as inventory
from tests.conftest import Api
from tests.factories.orders import Shop, delivery_order, make_shop


async def _invoke(*args: str) -> tuple[int, str]:
    # the commands run their own event loop: keep them off the test's loop
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return result.exit_code, f"{result.output}{result.exception!r}"
    return result.exit_code, result.output


@dataclass
class History:
    shop: Shop
    months: list[datetime]  # three months ago, two, one; then this month
    sku: str
    store: str


async def _history(committed: async_sessionmaker[AsyncSession]) -> History:
    """A shop opened three months ago: stock received then, some damaged two months ago, more
    received last month, a unit sold... today. Every event relayed."""
    this = partitions.month_start(clock.now())
    months = [partitions.add_months(this, n) for n in (-3, -2, -1, 0)]
    async with committed() as session, session.begin():
        await partitions.ensure_partitions(session, months[0])
    clock.freeze(months[0] + timedelta(days=10))
    async with committed() as session, session.begin():
        shop = await make_shop(session)
    sku, store = shop.skus[0], shop.store
    clock.freeze(months[1] + timedelta(days=10))
    async with committed() as session, session.begin():
        await inventory.adjust(session, sku=sku, location_code=store, delta=-3, reason="damage")
    clock.freeze(months[2] + timedelta(days=10))
    async with committed() as session, session.begin():
        await inventory.adjust(session, sku=sku, location_code=store, delta=5, reason="receipt")
    clock.reset()
    async with committed() as session, session.begin():
        await inventory.adjust(session, sku=sku, location_code=store, delta=-1, reason="damage")
        await session.execute(text("UPDATE outbox_events SET published_at = now()"))
    return History(shop=shop, months=months, sku=sku, store=store)


async def _as_of(committed: async_sessionmaker[AsyncSession], h: History, at: datetime) -> int:
    async with committed() as session:
        return (await inventory.on_hand_at(session, sku=h.sku, location_code=h.store, at=at)).on_hand


async def _scalar(committed: async_sessionmaker[AsyncSession], sql: str) -> object:
    async with committed() as session:
        return await session.scalar(text(sql))


async def test_prune_exports_then_drops_and_keeps_check_stock_as_of_and_the_feed(
    committed: async_sessionmaker[AsyncSession], committed_api: Api, tmp_path: Path
) -> None:
    h = await _history(committed)
    cutoff = h.months[2]
    instants = [cutoff, cutoff + timedelta(days=5), cutoff + timedelta(days=20), clock.now()]
    as_of = [await _as_of(committed, h, at) for at in instants]
    assert as_of == [47, 47, 52, 51]
    feed = committed_api.as_("integration")
    everything = (await feed.get("/v1/events", params={"limit": 200})).json()["items"]
    first = (await feed.get("/v1/events", params={"limit": 1})).json()["next_cursor"]  # an event to be dropped
    kept = [e for e in everything if datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) >= cutoff]
    assert kept and len(kept) < len(everything)
    old_ledger = int(
        str(
            await _scalar(committed, f"SELECT count(*) FROM stock_movements WHERE recorded_at < '{cutoff.isoformat()}'")
        )
    )

    code, output = await _invoke("prune", "--before", cutoff.date().isoformat(), "--export", str(tmp_path))
    assert code == 0, output

    # exported first: one file per dropped month, counted and checksummed in the manifest
    manifest = json.loads((tmp_path / f"manifest-{cutoff.date().isoformat()}.json").read_text())
    tables = {t["table"]: t for t in manifest["tables"]}
    ledger = tables["stock_movements"]
    assert ledger["dropped"] == [f"stock_movements_p{m.year:04d}_{m.month:02d}" for m in h.months[:2]]
    assert ledger["rows"] == old_ledger
    for archive in ledger["archives"] + tables["outbox_events"]["archives"]:
        data = gzip.decompress((tmp_path / archive["file"]).read_bytes())
        assert hashlib.sha256(data).hexdigest() == archive["sha256"]
        assert len(data.decode().splitlines()) == archive["rows"] + 1  # a header, then the rows
    assert ledger["opening_balances"] > 0
    # then dropped
    assert await _scalar(committed, f"SELECT to_regclass('{ledger['dropped'][0]}')") is None
    assert (
        await _scalar(
            committed,
            "SELECT count(*) FROM stock_movements WHERE reason <> 'opening_balance'"
            f" AND recorded_at < '{cutoff.isoformat()}'",
        )
        == 0
    )

    # on_hand still equals the ledger's sum, stock as of any time since the cut-off is unchanged
    assert await _invoke("check") == (0, "stock is consistent\n")
    assert [await _as_of(committed, h, at) for at in instants] == as_of
    # the feed: a cursor pointing into a dropped month resumes at the oldest event kept
    after = (await feed.get("/v1/events", params={"after": first, "limit": 200})).json()["items"]
    assert [e["event_id"] for e in after] == [e["event_id"] for e in kept]

    # a second prune a month later sums the earlier opening balances in with its month
    code, output = await _invoke("prune", "--before", h.months[3].date().isoformat())
    if code == 0:  # refused only when this month began less than a count horizon ago
        assert await _invoke("check") == (0, "stock is consistent\n")
        assert await _as_of(committed, h, clock.now()) == 51


async def test_prune_refuses_a_month_not_over_and_months_still_in_use(
    committed: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    h = await _history(committed)
    cutoff = h.months[2].date().isoformat()
    next_month = partitions.add_months(h.months[3], 1).date().isoformat()
    code, output = await _invoke("prune", "--before", next_month)
    assert code == 1 and "inside the current month" in output
    # an event of an old month not relayed yet
    async with committed() as session, session.begin():
        await session.execute(
            text("UPDATE outbox_events SET published_at = NULL WHERE occurred_at < :c"), {"c": h.months[1]}
        )
    code, output = await _invoke("prune", "--before", cutoff, "--export", str(tmp_path))
    assert code == 1 and "not relayed yet" in output
    async with committed() as session, session.begin():
        await session.execute(text("UPDATE outbox_events SET published_at = now()"))
    # a reservation made two months ago, still open
    clock.freeze(h.months[1] + timedelta(days=12))
    async with committed() as session, session.begin():
        await inventory.reserve(session, reference="hold:old", lines=[(h.sku, h.store, 1)])
    clock.reset()
    code, output = await _invoke("prune", "--before", cutoff)
    assert code == 1 and "reservation(s) made before the cut-off are still open" in output
    # nothing was dropped, nothing was exported
    assert list(tmp_path.iterdir()) == []
    name = f"stock_movements_p{h.months[0].year:04d}_{h.months[0].month:02d}"
    assert await _scalar(committed, f"SELECT to_regclass('{name}')::text") == name
    assert await _invoke("check") == (0, "stock is consistent\n")


async def test_prune_while_orders_are_placed_loses_no_ledger_row(
    committed: async_sessionmaker[AsyncSession], committed_api: Api
) -> None:
    h = await _history(committed)
    before_rows = int(
        str(
            await _scalar(
                committed, f"SELECT count(*) FROM stock_movements WHERE recorded_at >= '{h.months[2].isoformat()}'"
            )
        )
    )
    body = delivery_order(h.shop.skus[1:2], 2500)

    async def receipt(i: int) -> None:
        async with committed() as session, session.begin():
            await inventory.adjust(
                session, sku=h.sku, location_code=h.store, delta=1, reason="receipt", reference=f"r{i}"
            )

    results = await asyncio.gather(
        _invoke("prune", "--before", h.months[2].date().isoformat()),
        *(committed_api.as_("storefront").post("/v1/orders", json=body) for _ in range(12)),
        *(receipt(i) for i in range(12)),
    )
    prune_code, prune_output = results[0]  # type: ignore[misc]
    assert prune_code == 0, prune_output
    assert "stock_movements: 10 row(s) dropped" in prune_output, prune_output
    placed = results[1:13]
    assert {r.status_code for r in placed} == {201}, [r.text for r in placed]  # type: ignore[union-attr]
    # every receipt made meanwhile is in the ledger, beside the opening balances
    kept = await _scalar(committed, "SELECT count(*) FROM stock_movements WHERE reason <> 'opening_balance'")
    assert kept == before_rows + 12
    assert await _invoke("check") == (0, "stock is consistent\n")
    assert await _as_of(committed, h, clock.now()) == 51 + 12
    orders = await _scalar(committed, "SELECT count(*) FROM outbox_events WHERE type = 'order.placed'")
    assert orders == 12
