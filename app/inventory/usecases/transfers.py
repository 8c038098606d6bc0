"""Transfers between locations: draft, dispatch (in transit), receive, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from msgspec import structs
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.pagination import Keyset, Page
from app.inventory import repository
from app.inventory.errors import InsufficientStock, InvalidTransferTransition, TransferNotFound
from app.inventory.models import Transfer, TransferLine
from app.inventory.repository import Change
from app.inventory.rules import Reason
from app.inventory.schemas import TransferLineOut, TransferOut
from app.inventory.usecases.common import no_duplicates, require_known

TRANSFERS = Keyset("transfers", datetime, uuid.UUID)


def _transfer_out(t: Transfer, lines: Sequence[TransferLine]) -> TransferOut:
    return TransferOut(
        id=t.id,
        from_location=t.from_location,
        to_location=t.to_location,
        status=t.status,
        note=t.note,
        lines=[TransferLineOut(sku=line.sku, quantity=line.quantity) for line in lines],
        created_at=t.created_at,
        dispatched_at=t.dispatched_at,
        received_at=t.received_at,
    )


async def create_transfer(
    session: AsyncSession,
    *,
    from_location: str,
    to_location: str,
    lines: Sequence[tuple[str, int]],
    note: str | None = None,
    actor: uuid.UUID | None = None,
) -> TransferOut:
    if from_location == to_location:
        raise InvalidInput("a transfer goes between two different locations", code="same_location")
    no_duplicates([(sku,) for sku, _ in lines], "a SKU")
    for sku, qty in lines:
        if qty <= 0:
            raise InvalidInput(f"{sku}: quantity must be positive", code="invalid_quantity")
    await require_known(session, [sku for sku, _ in lines], [from_location, to_location])
    t = Transfer(
        id=uuid.uuid4(),
        from_location=from_location,
        to_location=to_location,
        status="draft",
        note=note,
        actor_key_id=actor,
        created_at=clock.now(),
    )
    tl = [TransferLine(transfer_id=t.id, sku=sku, quantity=qty) for sku, qty in sorted(lines)]
    await repository.add_transfer(session, t, tl)
    return _transfer_out(t, tl)


TransferEnd = Literal["from", "to", "either"]


def _require_end(principal: Principal | None, t: Transfer, at: TransferEnd) -> None:
    if principal is None or principal.location_code is None:
        return
    ends = {"from": [t.from_location], "to": [t.to_location], "either": [t.from_location, t.to_location]}[at]
    if principal.location_code not in ends:
        principal.require_location(ends[0])  # its 403, as every location-bound action answers


async def _locked_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, expected: str, principal: Principal | None, at: TransferEnd
) -> Transfer:
    t = await repository.transfer(session, transfer_id, lock=True)
    if t is None:
        raise TransferNotFound("no such transfer")
    _require_end(principal, t, at)
    if t.status != expected:
        raise InvalidTransferTransition(f"the transfer is {t.status}, not {expected}", current_status=t.status)
    return t


async def get_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, principal: Principal | None = None
) -> TransferOut:
    t = await repository.transfer(session, transfer_id)
    if t is None:
        raise TransferNotFound("no such transfer")
    _require_end(principal, t, "either")
    return _transfer_out(t, await repository.transfer_lines(session, [t.id]))


async def list_transfers(
    session: AsyncSession,
    *,
    status: str | None,
    location_code: str | None,
    limit: int,
    cursor: str | None,
    sku: str | None = None,
) -> Page[TransferOut]:
    """Newest first; `location_code` matches either end; `sku`: transfers carrying it."""
    after = TRANSFERS.after(cursor)
    key = (after[0], after[1]) if after else None
    rows = await repository.list_transfers(
        session, status=status, location_code=location_code, after=key, limit=limit + 1, sku=sku
    )
    lines = await repository.transfer_lines(session, [t.id for t in rows])
    by_id: dict[uuid.UUID, list[TransferLine]] = {}
    for line in lines:
        by_id.setdefault(line.transfer_id, []).append(line)
    return TRANSFERS.page(
        [_transfer_out(t, by_id.get(t.id, [])) for t in rows],
        limit,
        lambda o: [o.created_at, o.id],
    )


async def dispatch_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, actor: uuid.UUID | None = None, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "draft", principal, "from")
    lines = await repository.transfer_lines(session, [t.id])
    ref = f"transfer:{t.id}"
    changes = [
        Change(
            line.sku,
            t.from_location,
            on_hand=-line.quantity,
            reason=Reason.TRANSFER_OUT.value,
            reference=ref,
            keep_reserved=True,
        )
        for line in lines
    ] + [Change(line.sku, t.to_location, in_transit=line.quantity) for line in lines]
    now = clock.now()
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):
        changed = {r.sku for r in rows if r.location_code == t.from_location}
        short = [line for line in lines if line.sku not in changed]
        avail = await repository.availability_of_lines(session, [(line.sku, t.from_location) for line in short])
        raise InsufficientStock(
            "the source does not hold these units outside reservations",
            lines=[
                {
                    "sku": line.sku,
                    "location": t.from_location,
                    "requested": line.quantity,
                    "available": avail[(line.sku, t.from_location)],
                }
                for line in short
            ],
        )
    t.status, t.dispatched_at = "dispatched", now
    await session.flush()
    out = _transfer_out(t, lines)
    await outbox.record(
        session, "transfer.dispatched", aggregate_type="transfer", aggregate_id=str(t.id), payload=structs.asdict(out)
    )
    return out


async def receive_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, actor: uuid.UUID | None = None, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "dispatched", principal, "to")
    lines = await repository.transfer_lines(session, [t.id])
    ref = f"transfer:{t.id}"
    changes = [
        Change(
            line.sku,
            t.to_location,
            on_hand=line.quantity,
            in_transit=-line.quantity,
            reason=Reason.TRANSFER_IN.value,
            reference=ref,
        )
        for line in lines
    ]
    now = clock.now()
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):
        raise RuntimeError("in_transit fell below a dispatched transfer; run `oms check`")
    t.status, t.received_at = "received", now
    await session.flush()
    out = _transfer_out(t, lines)
    await outbox.record(
        session, "transfer.received", aggregate_type="transfer", aggregate_id=str(t.id), payload=structs.asdict(out)
    )
    return out


async def cancel_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "draft", principal, "either")
    t.status = "cancelled"
    await session.flush()
    return _transfer_out(t, await repository.transfer_lines(session, [t.id]))
