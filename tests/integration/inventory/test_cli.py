"""`oms check` and `oms stock import` against committed data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.inventory import service
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive


async def _invoke(*args: str) -> tuple[int, str]:
    # the commands run their own event loop: keep them off the test's loop
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    return result.exit_code, result.output


async def test_check_exits_1_on_drift(committed: async_sessionmaker[AsyncSession]) -> None:
    async with committed() as session, session.begin():
        (sku,) = await make_variants(session, 1)
        await make_locations(session, LocationFactory(code="ST-1"))
        await receive(session, sku, "ST-1", 4)
    assert await _invoke("check") == (0, "stock is consistent\n")
    async with committed() as session, session.begin():
        await session.execute(text("UPDATE stock_levels SET on_hand = 5"))
    code, output = await _invoke("check")
    assert code == 1
    assert f"on_hand_differs_from_ledger: sku={sku} location=ST-1 actual=5 expected=4" in output


async def test_stock_import_is_idempotent(committed: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    async with committed() as session, session.begin():
        a, b = await make_variants(session, 2)
        await make_locations(session, LocationFactory(code="ST-1"), LocationFactory(code="ST-2"))
        await receive(session, a, "ST-1", 4)
    csv = tmp_path / "counts.csv"
    csv.write_text(f"location,sku,on_hand,counted_at\nST-1,{a},3,\nST-2,{b},7,\nST-1,NOPE,1,\nST-2,{a},x,\n")
    code, output = await _invoke("stock", "import", str(csv))
    assert code == 1  # the unknown SKU batch and the bad line are reported
    assert "line 5: on_hand must be a whole number" in output
    assert "unknown_sku" in output
    csv.write_text(f"location,sku,on_hand\nST-1,{a},3\nST-2,{b},7\n")
    assert (await _invoke("stock", "import", str(csv)))[0] == 0
    assert (await _invoke("stock", "import", str(csv)))[0] == 0
    async with committed() as session:
        levels = await service.available_by_location(session, [a, b])
        movements = await session.scalar(text("SELECT count(*) FROM stock_movements"))
    assert levels == {(a, "ST-1"): 3, (b, "ST-2"): 7}
    assert movements == 3  # receipt, the count of a, the count of b: the re-import wrote nothing
    assert (await _invoke("check"))[0] == 0
