"""The delivery promise of a sourcing plan: per fulfillment group (a location and what it
serves) the earliest delivery day or the time a pickup is ready, from each location's
cut-off, handling and transit (inventory's rules, README "Delivery promise").

Used three ways: a quote previews the plan an order would get now (`promise_preview.py`,
reads only, reserves nothing); placement stamps each new fulfillment order with the promise it
was sold with (`promised_at`: a pickup's ready time, or the end of the promised delivery
day where the parcel leaves); the order's shipments show it beside the actual dates."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment import rules
from app.inventory import service as inventory


class GroupPromise(msgspec.Struct, frozen=True, kw_only=True):
    type: str  # delivery | pickup | ship_to_store
    location: str
    skus: list[str]
    deliver_to: str | None = None  # ship_to_store: the pickup store
    promised_by: date | None = None  # delivery: the earliest delivery day
    ready_by: datetime | None = None  # pickup (and the transfer feeding it): ready for collection
    # What the fulfillment order stores: ready_by, or the end of promised_by where it leaves.
    promised_at: datetime | None = None


class PlanPromise(msgspec.Struct, frozen=True, kw_only=True):
    groups: list[GroupPromise]
    unavailable: list[str]  # SKUs no location can serve now

    @property
    def promised_by(self) -> date | None:
        """The whole order's delivery day: its last parcel's."""
        days = [g.promised_by for g in self.groups if g.promised_by is not None]
        return max(days) if days else None

    @property
    def ready_by(self) -> datetime | None:
        """The whole pickup's ready time: its store's own units and every transfer in."""
        times = [g.ready_by for g in self.groups if g.ready_by is not None]
        return max(times) if times else None


async def plan_promises(
    session: AsyncSession, plan: rules.Plan, now: datetime, country: str | None
) -> list[GroupPromise]:
    codes = {a.location_code for a in plan.assignments} | {a.deliver_to for a in plan.assignments if a.deliver_to}
    terms = await inventory.promise_terms(session, sorted(codes))
    groups = [_group(a, terms, now, country) for a in plan.assignments]
    # A pickup is ready when its last transfer is: carry the latest ready time onto it.
    transfers = [g.ready_by for g in groups if g.type == "ship_to_store" and g.ready_by is not None]
    if transfers:
        groups = [
            msgspec.structs.replace(
                g, ready_by=max([g.ready_by, *transfers]), promised_at=max([g.ready_by, *transfers])
            )
            if g.type == "pickup" and g.ready_by is not None
            else g
            for g in groups
        ]
    return groups


def _group(
    a: rules.Assignment, terms: dict[str, inventory.PromiseTerms], now: datetime, country: str | None
) -> GroupPromise:
    skus = sorted({line.sku for line in a.lines})
    at = terms.get(a.location_code)
    if at is None:
        return GroupPromise(type=a.type, location=a.location_code, skus=skus, deliver_to=a.deliver_to)
    if a.type == "delivery":
        day = inventory.delivered_by(now, at, country)
        return GroupPromise(
            type=a.type,
            location=a.location_code,
            skus=skus,
            promised_by=day,
            promised_at=inventory.end_of_day(day, at.time_zone),
        )
    if a.type == "pickup":
        ready = inventory.pickup_ready_by(now, at)
        return GroupPromise(type=a.type, location=a.location_code, skus=skus, ready_by=ready, promised_at=ready)
    store = terms.get(a.deliver_to or "")
    arrives = inventory.transfer_ready_by(now, at, store) if store is not None else None
    return GroupPromise(
        type=a.type, location=a.location_code, skus=skus, deliver_to=a.deliver_to, ready_by=arrives, promised_at=arrives
    )
