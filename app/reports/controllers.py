"""The channel dashboard's figures over HTTP, for managers and the retailer's BI.

- `GET /v1/reports/channels?from=&to=&location=` — the whole report as JSON.
- `GET /v1/reports/channels.csv?table=by_channel&from=&to=&location=` — one table as CSV.

Roles: `admin` and `integration` (the BI tool's key). Channel keys (storefront, kiosk,
POS, contact center), merchandiser and logistics keys are refused: the figures are the
whole retailer's. `from`/`to`: dates (YYYY-MM-DD, UTC days, both included); default the
last 30 days; at most 400 days; `location` may repeat (at most 50). Bad dates, `from`
after `to` or a longer period: 400 `invalid_period`; an unknown CSV table: 400
`unknown_report_table`. Figures come from the reports' summary, as fresh as the event relay.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from litestar import Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Role, roles
from app.core.errors import problem_responses
from app.core.replicas import REPLICA_READ
from app.reports import rules, service
from app.reports.errors import InvalidLocations
from app.reports.schemas import TABLES, ChannelReport

READERS = roles(Role.ADMIN, Role.INTEGRATION)
MAX_LOCATIONS = 50

# The schema states what `rules.parse_period` and `_report` check (their problems name the field):
# a date, and at most MAX_LOCATIONS codes of 1 to 40 characters. `from` after `to` and a period
# over rules.MAX_PERIOD_DAYS are rules between the two, said in the description.
DAY = {"format": "date"}
PERIOD = f"; `from` ≤ `to`, at most {rules.MAX_PERIOD_DAYS} days apart"
From = Annotated[
    str | None,
    Parameter(query="from", max_length=40, schema_extra=DAY, description="first UTC day (YYYY-MM-DD)" + PERIOD),
]
To = Annotated[
    str | None,
    Parameter(query="to", max_length=40, schema_extra=DAY, description="last UTC day, included (YYYY-MM-DD)" + PERIOD),
]
LOCATION_CODES = {"maxItems": MAX_LOCATIONS, "items": {"type": "string", "minLength": 1, "maxLength": 40}}
Locations = Annotated[
    list[str] | None,
    Parameter(
        query="location",
        schema_extra=LOCATION_CODES,
        description="location codes (repeat); none = every location",
    ),
]
Table = Annotated[
    str, Parameter(query="table", max_length=40, schema_extra={"enum": list(TABLES)}, description="one table")
]


async def _report(
    db_session: AsyncSession, from_: str | None, to: str | None, location: list[str] | None
) -> ChannelReport:
    start, end = rules.parse_period(from_, to, clock.now().date())
    if location is not None and (len(location) > MAX_LOCATIONS or any(not 0 < len(c) <= 40 for c in location)):
        raise InvalidLocations(f"at most {MAX_LOCATIONS} location codes of 1 to 40 characters", field="location")
    return await service.channel_report(db_session, start=start, end=end, locations=location)


@get(
    "/reports/channels",
    opt=READERS | REPLICA_READ,
    summary="The channel dashboard's figures for a period and optional locations",
    responses=problem_responses(400),
)
async def channels_report(
    db_session: AsyncSession, from_: From = None, to: To = None, location: Locations = None
) -> ChannelReport:
    return await _report(db_session, from_, to, location)


@get(
    "/reports/channels.csv",
    opt=READERS | REPLICA_READ,
    media_type="text/csv",
    summary="One table of the channel dashboard as CSV",
    responses=problem_responses(400),
)
async def channels_report_csv(
    db_session: AsyncSession, table: Table, from_: From = None, to: To = None, location: Locations = None
) -> Response[str]:
    report = await _report(db_session, from_, to, location)
    header, rows = service.report_table(report, table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="channels-{table}.csv"'},
    )


ROUTES = [channels_report, channels_report_csv]
