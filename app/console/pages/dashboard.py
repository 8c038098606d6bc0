"""The channel dashboard (managers): the reports service's figures for a period and a set of
locations — bars by channel, lines over time, every table with its CSV export. The figures
come from `app/reports` (the same `channel_report` as `GET /v1/reports/channels`)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Response, get
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import charts
from app.console.rules import Staff
from app.console.web import MANAGERS, page, staff_roles
from app.core import clock
from app.inventory import service as inventory
from app.reports import rules as report_rules
from app.reports import service as reports
from app.reports.schemas import TABLES, ChannelReport

MANAGER_ONLY = staff_roles(MANAGERS)
Day = Annotated[str | None, Parameter(query="from", max_length=40)]
Locations = Annotated[list[str] | None, Parameter(query="location", max_length=50)]


async def _report(
    session: AsyncSession, from_: str | None, to: str | None, location: list[str] | None
) -> ChannelReport:
    start, end = report_rules.parse_period(from_ or None, to or None, clock.now().date())
    chosen = [code[:40] for code in location or [] if code] or None
    return await reports.channel_report(session, start=start, end=end, locations=chosen)


def _daily(report: ChannelReport) -> tuple[list[date], dict[str, list[float]]]:
    first, last = report.start.date(), (report.end - timedelta(days=1)).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    series: dict[str, list[float]] = {}
    index = {d: i for i, d in enumerate(days)}
    for row in report.daily:
        values = series.setdefault(row.channel.replace("_", " "), [0.0] * len(days))
        if row.day in index:
            values[index[row.day]] += row.revenue / 100
    return days, series


@get("/dashboard", opt=MANAGER_ONLY)
async def dashboard(
    db_session: AsyncSession, staff: Staff, from_: Day = None, to: str | None = None, location: Locations = None
) -> Template:
    report = await _report(db_session, from_, to, location)
    query = {"from": report.start.date().isoformat(), "to": (report.end - timedelta(days=1)).date().isoformat()}
    export = urlencode([*query.items(), *(("location", c) for c in report.locations or [])])
    days, series = _daily(report)
    by_channel = [c for c in report.by_channel if c.channel != "all"]
    return page(
        "dashboard.html",
        staff,
        report=report,
        query=query,
        export=export,
        tables=TABLES,
        locations=[loc.code for loc in await inventory.list_locations(db_session)],
        revenue_bars=charts.bars(
            "Revenue by channel (EUR)", [(c.channel.replace("_", " "), c.revenue / 100) for c in by_channel]
        ),
        orders_bars=charts.bars("Orders by channel", [(c.channel.replace("_", " "), c.orders) for c in by_channel]),
        mix_bars=charts.bars(
            "Revenue by fulfilment method (EUR)",
            [(m.method.replace("_", " "), m.revenue / 100) for m in report.fulfilment_mix],
        ),
        daily_lines=charts.lines("Revenue per day by channel (EUR)", days, series),
        money=_money,
        pct=_pct,
    )


@get("/dashboard.csv", opt=MANAGER_ONLY, media_type="text/csv")
async def dashboard_csv(
    db_session: AsyncSession,
    table: Annotated[str, Parameter(max_length=40)],
    from_: Day = None,
    to: str | None = None,
    location: Locations = None,
) -> Response[str]:
    report = await _report(db_session, from_, to, location)
    header, rows = reports.report_table(report, table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="channels-{table}.csv"'},
    )


def _money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else f"{minor / 100:,.2f} {currency}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


ROUTES: list[Any] = [dashboard, dashboard_csv]
