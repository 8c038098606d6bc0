"""Sourcing rule versions (append-only; the newest is in force) and the simulator that
replays a proposed configuration on recent orders, read-only."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.fulfillment import repository, rules
from app.fulfillment.errors import RuleVersionNotFound, UnknownLocation
from app.fulfillment.models import SourcingRuleVersion
from app.fulfillment.schemas import ChangedOrder, RuleVersionOut, SimulationOut
from app.fulfillment.usecases.common import rules_in_force
from app.fulfillment.usecases.sourcing import OrderToSource, candidates, make_plan


def version_out(row: SourcingRuleVersion | None, current: rules.SourcingRules) -> RuleVersionOut:
    if row is None:
        return RuleVersionOut(version=0, rules=current, note="built-in defaults", created_at=None)
    return RuleVersionOut(
        version=row.version,
        rules=msgspec.convert(row.rules, rules.SourcingRules),
        note=row.note,
        created_at=row.created_at,
    )


async def save_rules(
    session: AsyncSession, new: rules.SourcingRules, note: str | None, actor: uuid.UUID | None
) -> RuleVersionOut:
    row = await repository.add_rule_version(
        session,
        SourcingRuleVersion(rules=msgspec.to_builtins(new), note=note, created_by=actor, created_at=clock.now()),
    )
    await outbox.record(
        session,
        "sourcing.rules_changed",
        aggregate_type="sourcing_rules",
        aggregate_id=str(row.version),
        payload={"version": row.version, "note": note},
    )
    return version_out(row, new)


async def current_version(session: AsyncSession) -> RuleVersionOut:
    row = await repository.current_rules(session)
    _, current = await rules_in_force(session)
    return version_out(row, current)


async def get_version(session: AsyncSession, version: int) -> RuleVersionOut:
    row = await repository.rule_version(session, version)
    if row is None:
        raise RuleVersionNotFound(f"no rule version {version}")
    return version_out(row, rules.SourcingRules())


async def list_versions(session: AsyncSession, *, before: int | None, limit: int) -> list[RuleVersionOut]:
    rows = await repository.rule_versions(session, before=before, limit=limit)
    return [version_out(r, rules.SourcingRules()) for r in rows]


async def simulate(session: AsyncSession, proposed: rules.SourcingRules, orders: int) -> SimulationOut:
    """Replay the last `orders` placements under the rules in force and under `proposed`,
    both against today's stock and load. Read-only: nothing is reserved or written."""
    version, current = await rules_in_force(session)
    decisions = await repository.recent_placements(session, orders)
    skus = sorted({line["sku"] for d in decisions for line in d.lines})
    pool = await candidates(session, skus) if decisions else []
    kinds = {c.code: c.kind for c in pool}
    totals = rules.PlanDiff()
    examples: list[ChangedOrder] = []
    for d in decisions:
        order = OrderToSource(
            order_id=d.order_id,
            order_number="",
            reservation_ref="",
            fulfilment="pickup" if d.fulfilment == "pickup" else "delivery",
            lines=[(ln["line_id"], ln["sku"], int(ln["quantity"])) for ln in d.lines],
            pickup_location=d.pickup_location_code,
            latitude=d.latitude,
            longitude=d.longitude,
        )
        try:
            before, after = make_plan(order, pool, current), make_plan(order, pool, proposed)
        except UnknownLocation:
            continue  # the pickup store was closed since
        changed_before = totals.changed
        rules.compare_plans(totals, before, after, kinds)
        if totals.changed > changed_before and len(examples) < 20:
            examples.append(
                ChangedOrder(
                    order_id=d.order_id,
                    before=[f"{a.location_code}:{a.type}" for a in before.assignments],
                    after=[f"{a.location_code}:{a.type}" for a in after.assignments],
                )
            )
    return SimulationOut(current_version=version, totals=totals, changed_examples=examples)
