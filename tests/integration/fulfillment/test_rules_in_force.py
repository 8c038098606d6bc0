"""The sourcing rules in force, read on every placement."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment import rules
from app.fulfillment.usecases import common
from app.fulfillment.usecases.rule_versions import save_rules


async def test_rules_in_force_follow_every_saved_version(db: AsyncSession) -> None:
    before, _ = await common.rules_in_force(db)
    first = await save_rules(db, rules.SourcingRules(allow_split=False, cost_per_km=7), "no splits", None)
    version, current = await common.rules_in_force(db)
    assert (version, current) == (first.version, rules.SourcingRules(allow_split=False, cost_per_km=7))
    assert before is None or before < version
    # The same version read again is the same (already validated) rules.
    assert (await common.rules_in_force(db))[1] is current

    second = await save_rules(db, rules.SourcingRules(criteria=["nearest"], parcel_cost={"store": 1}), None, None)
    version, current = await common.rules_in_force(db)
    assert version == second.version
    assert (current.criteria, current.parcel_cost, current.allow_split) == (["nearest"], {"store": 1}, True)
