"""Hot-SKU holds: single-line reservations combined per (sku, location) inside each process.

PostgreSQL lets one writer at a time change a row, and the next one in only once the first
has committed (flushed its WAL). One request per UPDATE caps a single SKU at a few hundred
holds a second. So holds of the same (sku, location) that arrive while a statement for that
key is running queue here, and the next statement takes them all: one conditional UPDATE
grants the longest prefix that fits, and inserts the winners' reservations in the same
statement (repository.hold_batch), committed durably by its own short transaction.

Once a statement leaves nothing available, the key is refused in-process for
`SOLD_OUT_TTL` seconds without touching the database (losers answer in microseconds instead
of queuing behind the row lock). Stock that comes back (a release, an expiry, a receipt) is
visible again at most that long after. A request that needs a precise answer (unknown SKU or
location, a reference already used) is replayed through the regular `service.reserve` path.

Each API process has its own combiner; across processes correctness rests on the database
alone (the UPDATE's condition), so several processes never oversell.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.core.settings import get_settings
from app.inventory import repository
from app.inventory.errors import InsufficientStock, SoldOutRetryLater
from app.inventory.repository import HoldRequest
from app.inventory.rules import Line
from app.inventory.schemas import ReservationLineOut, ReservationOut

SOLD_OUT_TTL = 0.2  # seconds a sold-out key is refused without asking the database
MAX_BATCH = 1000  # holds per statement
MAX_QUEUE = 5000  # waiting holds per key and process before 429 hold_queue_full

# (reference, line, expires_at, actor, holder) -> the regular path's answer
Fallback = Callable[[str, Line, datetime | None, uuid.UUID | None, str | None], Awaitable[ReservationOut]]


@dataclass
class _Pending:
    request: HoldRequest
    line: Line
    future: asyncio.Future[ReservationOut]


@dataclass
class HoldCombiner:
    maker: async_sessionmaker[AsyncSession]
    fallback: Fallback
    queues: dict[tuple[str, str], list[_Pending]] = field(default_factory=dict)
    draining: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)
    sold_out_until: dict[tuple[str, str], float] = field(default_factory=dict)

    async def hold(
        self,
        *,
        reference: str,
        line: Line,
        expires_at: datetime | None,
        actor: uuid.UUID | None,
        holder: str | None = None,
    ) -> ReservationOut:
        key = (line.sku, line.location)
        if self.sold_out_until.get(key, 0.0) > time.monotonic():
            raise _insufficient(line, 0)
        queue = self.queues.setdefault(key, [])
        if len(queue) >= MAX_QUEUE:
            raise SoldOutRetryLater(
                "too many holds waiting for this SKU", headers={"Retry-After": str(get_settings().retry_after_seconds)}
            )
        future: asyncio.Future[ReservationOut] = asyncio.get_running_loop().create_future()
        request = HoldRequest(uuid.uuid4(), reference, line.quantity, expires_at, actor, holder)
        queue.append(_Pending(request, line, future))
        if key not in self.draining:
            self.draining[key] = asyncio.create_task(self._drain(key))
        return await future

    async def _drain(self, key: tuple[str, str]) -> None:
        try:
            await asyncio.sleep(0)  # let the requests already parsed join the first statement
            while self.queues.get(key):
                await self._run(key, self._take(key))
        finally:
            del self.draining[key]

    def _take(self, key: tuple[str, str]) -> list[_Pending]:
        """Up to MAX_BATCH holds, one per reference (a repeated reference waits for the next
        statement, where it finds the first one's reservation)."""
        batch: list[_Pending] = []
        rest: list[_Pending] = []
        seen: set[str] = set()
        for pending in self.queues[key]:
            if len(batch) < MAX_BATCH and pending.request.reference not in seen:
                seen.add(pending.request.reference)
                batch.append(pending)
            else:
                rest.append(pending)
        self.queues[key] = rest
        return batch

    async def _run(self, key: tuple[str, str], batch: list[_Pending]) -> None:
        sku, location = key
        now = clock.now()
        try:
            async with transaction(self.maker) as session:
                rows, available = await repository.hold_batch(session, sku, location, [p.request for p in batch], now)
                lost = sum(p.line.quantity for p, row in zip(batch, rows, strict=True) if row.won and not row.created)
                if lost:  # another process inserted one of these references first: give the units back
                    await repository.unreserve_row(session, sku, location, lost)
        except Exception as exc:
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        if available is not None and available <= 0:
            self.sold_out_until[key] = time.monotonic() + SOLD_OUT_TTL
        for p, row in zip(batch, rows, strict=True):
            if p.future.done():  # the caller went away
                continue
            if row.won and row.created:
                p.future.set_result(_fresh(p, now))
            elif available is None or not row.fresh or row.won:
                # unknown SKU/location, or a reference already in use: the regular path answers precisely
                asyncio.create_task(self._fall_back(p))  # noqa: RUF006 (the future keeps the caller waiting)
            else:
                p.future.set_exception(_insufficient(p.line, available))

    async def _fall_back(self, p: _Pending) -> None:
        try:
            request = p.request
            p.future.set_result(
                await self.fallback(request.reference, p.line, request.expires_at, request.actor, request.holder)
            )
        except Exception as exc:
            if not p.future.done():
                p.future.set_exception(exc)


def _insufficient(line: Line, available: int) -> InsufficientStock:
    return InsufficientStock(
        f"not enough stock: {line.sku}@{line.location} {available}/{line.quantity}",
        lines=[{"sku": line.sku, "location": line.location, "requested": line.quantity, "available": available}],
    )


def _fresh(p: _Pending, now: datetime) -> ReservationOut:
    sku, location, quantity = p.line
    return ReservationOut(
        id=p.request.reservation_id,
        reference=p.request.reference,
        status="open",
        expires_at=p.request.expires_at,
        created_at=now,
        lines=[
            ReservationLineOut(sku=sku, location=location, quantity=quantity, released=0, consumed=0, open=quantity)
        ],
    )


_combiners: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], HoldCombiner] = weakref.WeakKeyDictionary()


def combiner(maker: async_sessionmaker[AsyncSession], fallback: Fallback) -> HoldCombiner:
    """The combiner of this process for this database (one per app's sessionmaker)."""
    found = _combiners.get(maker)
    if found is None:
        found = _combiners[maker] = HoldCombiner(maker, fallback)
    return found
