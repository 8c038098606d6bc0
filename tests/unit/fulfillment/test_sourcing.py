"""Sourcing rules on tables of locations, stock and capacities: the choice and its explanation."""

from __future__ import annotations

import msgspec
import pytest

from app.fulfillment.rules import (
    Candidate,
    Plan,
    PlanDiff,
    PlanLine,
    Point,
    SourcingRules,
    StockAt,
    compare_plans,
    distance_km,
    plan_delivery,
    plan_pickup,
    store_share,
)

PARIS = Point(48.8566, 2.3522)
RULES = SourcingRules()


def loc(
    code: str,
    kind: str,
    lat: float,
    lon: float,
    stock: dict[str, int],
    *,
    ships: bool = True,
    pickup: bool = False,
    capacity: int = 100,
    today: int = 0,
    safety: dict[str, int] | None = None,
    active: bool = True,
) -> Candidate:
    safety = safety or {}
    return Candidate(
        code=code,
        kind=kind,
        latitude=lat,
        longitude=lon,
        ships=ships,
        pickup=pickup,
        active=active,
        daily_capacity=capacity,
        assigned_today=today,
        stock={
            sku: StockAt(available=qty - safety.get(sku, 0), on_hand=qty, safety_stock=safety.get(sku, 0))
            for sku, qty in stock.items()
        },
    )


def lines(*specs: tuple[str, int]) -> list[PlanLine]:
    return [PlanLine(f"L{i + 1}", sku, qty) for i, (sku, qty) in enumerate(specs)]


def where(plan: Plan) -> list[tuple[str, str, list[tuple[str, int]]]]:
    return [(a.location_code, a.type, [(ln.sku, ln.quantity) for ln in a.lines]) for a in plan.assignments]


def note(plan: Plan, code: str) -> tuple[str, list[str]]:
    found = [n for n in plan.notes if n.location_code == code]
    assert len(found) == 1, f"{code} not explained"
    return found[0].outcome, [r.code for r in found[0].reasons]


# Lyon is ~392 km from Paris, Lille ~204 km, a Paris store ~1 km.
WH_LYON = (45.7640, 4.8357)
WH_LILLE = (50.6292, 3.0573)
STORE_PARIS = (48.8606, 2.3376)
STORE_ORLY = (48.7262, 2.3652)


def test_distance_is_haversine_km() -> None:
    assert distance_km(PARIS, *WH_LYON) == pytest.approx(391.5, abs=0.5)
    assert distance_km(None, *WH_LYON) is None


def test_one_location_with_everything_beats_nearer_locations_that_would_split() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5, "B": 5}),
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}),
        loc("ST-ORLY", "store", *STORE_ORLY, {"B": 5}),
    ]
    plan = plan_delivery(lines(("A", 1), ("B", 1)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("WH-LYON", "delivery", [("A", 1), ("B", 1)])]
    assert plan.split is False and plan.complete
    assert note(plan, "WH-LYON") == ("chosen", ["serves"])
    assert note(plan, "ST-PARIS") == ("not_chosen", ["out_of_stock"])
    assert note(plan, "ST-ORLY") == ("not_chosen", ["out_of_stock"])


def test_nearest_wins_between_two_complete_locations() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"A": 5}),
    ]
    plan = plan_delivery(lines(("A", 2)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("WH-LILLE", "delivery", [("A", 2)])]
    assert note(plan, "WH-LYON") == ("not_chosen", ["ranked_lower"])


def test_lowest_cost_first_prefers_the_cheaper_kind() -> None:
    candidates = [
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"A": 5}),
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}),
    ]
    by_distance = plan_delivery(lines(("A", 1)), candidates, RULES, destination=PARIS)
    assert where(by_distance)[0][0] == "ST-PARIS"
    # store parcel 650 + 1 km vs warehouse parcel 450 + 204 km: the store is cheaper...
    cheap = SourcingRules(criteria=["lowest_cost"], cost_per_km=2)
    assert where(plan_delivery(lines(("A", 1)), candidates, cheap, destination=PARIS))[0][0] == "ST-PARIS"
    # ...until a kilometre costs nothing.
    free_km = SourcingRules(criteria=["lowest_cost"], cost_per_km=0)
    assert where(plan_delivery(lines(("A", 1)), candidates, free_km, destination=PARIS))[0][0] == "WH-LILLE"
    warehouses = SourcingRules(criteria=["warehouse_first", "nearest"])
    assert where(plan_delivery(lines(("A", 1)), candidates, warehouses, destination=PARIS))[0][0] == "WH-LILLE"


def test_split_only_when_no_single_location_has_everything_and_the_order_says_so() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"B": 5}),
        loc("ST-PARIS", "store", *STORE_PARIS, {"B": 1}),
    ]
    plan = plan_delivery(lines(("A", 1), ("B", 1)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("ST-PARIS", "delivery", [("B", 1)]), ("WH-LYON", "delivery", [("A", 1)])]
    assert plan.split is True
    assert "split into 2 parcels" in plan.summary
    assert note(plan, "WH-LILLE") == ("not_chosen", ["out_of_stock"])


def test_a_line_is_split_by_quantity_when_no_location_has_all_of_it() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 3}),
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"A": 2}),
    ]
    plan = plan_delivery(lines(("A", 5)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("WH-LILLE", "delivery", [("A", 2)]), ("WH-LYON", "delivery", [("A", 3)])]
    assert plan.complete and plan.split


def test_no_split_allowed_leaves_the_order_unserved() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"B": 5}),
    ]
    plan = plan_delivery(lines(("A", 1), ("B", 1)), candidates, SourcingRules(allow_split=False), destination=PARIS)
    assert plan.assignments == []
    assert [(ln.sku, ln.quantity) for ln in plan.unserved] == [("A", 1), ("B", 1)]


def test_nearest_first_criteria_may_split_to_save_kilometres() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5, "B": 5}),
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}),
        loc("ST-ORLY", "store", *STORE_ORLY, {"B": 5}),
    ]
    plan = plan_delivery(
        lines(("A", 1), ("B", 1)), candidates, SourcingRules(criteria=["nearest", "fewest_parcels"]), destination=PARIS
    )
    assert [a.location_code for a in plan.assignments] == ["ST-ORLY", "ST-PARIS"]
    assert plan.split


def test_a_store_at_capacity_is_skipped() -> None:
    candidates = [
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}, capacity=10, today=10),
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
    ]
    plan = plan_delivery(lines(("A", 1)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("WH-LYON", "delivery", [("A", 1)])]
    outcome, reasons = note(plan, "ST-PARIS")
    assert (outcome, reasons) == ("skipped", ["at_capacity"])
    assert "10/10" in next(n for n in plan.notes if n.location_code == "ST-PARIS").reasons[0].detail
    assert plan.skipped_counts == {"at_capacity": 1}


def test_a_store_whose_only_units_are_safety_stock_is_not_used() -> None:
    candidates = [
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 2}, safety={"A": 2}),
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
    ]
    plan = plan_delivery(lines(("A", 1)), candidates, RULES, destination=PARIS)
    assert where(plan) == [("WH-LYON", "delivery", [("A", 1)])]
    assert note(plan, "ST-PARIS") == ("skipped", ["safety_stock_only"])


def test_above_safety_stock_the_store_serves() -> None:
    candidates = [
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 3}, safety={"A": 2}),
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
    ]
    assert where(plan_delivery(lines(("A", 1)), candidates, RULES, destination=PARIS))[0][0] == "ST-PARIS"
    # Two units would dip into the safety stock: the warehouse serves instead.
    assert where(plan_delivery(lines(("A", 2)), candidates, RULES, destination=PARIS))[0][0] == "WH-LYON"


def test_non_shipping_inactive_and_excluded_locations_are_skipped_with_reasons() -> None:
    candidates = [
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}, ships=False),
        loc("ST-ORLY", "store", *STORE_ORLY, {"A": 5}),
        loc("WH-LILLE", "warehouse", *WH_LILLE, {"A": 5}, active=False),
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5}),
    ]
    plan = plan_delivery(lines(("A", 1)), candidates, RULES, destination=PARIS, excluded=["ST-ORLY"])
    assert where(plan)[0][0] == "WH-LYON"
    assert note(plan, "ST-PARIS") == ("skipped", ["does_not_ship"])
    assert note(plan, "ST-ORLY") == ("skipped", ["excluded"])
    assert note(plan, "WH-LILLE") == ("skipped", ["inactive"])


def test_nothing_anywhere_is_unserved_with_a_summary() -> None:
    plan = plan_delivery(lines(("A", 2)), [loc("WH-LYON", "warehouse", *WH_LYON, {"A": 1})], RULES, destination=PARIS)
    # The best partial cover is returned so the caller can say what is where.
    assert where(plan) == [("WH-LYON", "delivery", [("A", 1)])]
    assert [(ln.sku, ln.quantity) for ln in plan.unserved] == [("A", 1)]
    assert "not available anywhere: 1x A" in plan.summary


def test_same_sku_on_two_lines_shares_the_location_stock() -> None:
    candidates = [loc("WH-LYON", "warehouse", *WH_LYON, {"A": 3}), loc("WH-LILLE", "warehouse", *WH_LILLE, {"A": 1})]
    plan = plan_delivery([PlanLine("L1", "A", 2), PlanLine("L2", "A", 2)], candidates, RULES, destination=PARIS)
    assert plan.complete
    assert sum(ln.quantity for a in plan.assignments for ln in a.lines) == 4
    for a in plan.assignments:
        at = next(c for c in candidates if c.code == a.location_code)
        assert sum(ln.quantity for ln in a.lines) <= at.available("A")


def test_explanations_are_bounded_but_counted() -> None:
    many = [loc(f"ST-{i:03d}", "store", 48.0 + i / 100, 2.0, {}) for i in range(50)]
    plan = plan_delivery(
        lines(("A", 1)),
        [*many, loc("WH-LYON", "warehouse", *WH_LYON, {"A": 1})],
        SourcingRules(explain_limit=5),
        destination=PARIS,
    )
    assert len(plan.notes) == 1 + 5
    assert plan.skipped_counts == {"out_of_stock": 50}


def test_unknown_destination_still_decides_by_the_other_criteria() -> None:
    candidates = [loc("WH-B", "warehouse", *WH_LYON, {"A": 1}), loc("WH-A", "warehouse", *WH_LILLE, {"A": 1})]
    plan = plan_delivery(lines(("A", 1)), candidates, RULES, destination=None)
    assert where(plan)[0][0] == "WH-A"
    assert plan.assignments[0].distance_km is None


# ---- BOPIS


def test_pickup_from_the_store_when_it_has_everything() -> None:
    store = loc("ST-PARIS", "store", *STORE_PARIS, {"A": 1, "B": 1}, pickup=True)
    plan = plan_pickup(lines(("A", 1), ("B", 1)), store, [loc("WH-LYON", "warehouse", *WH_LYON, {"A": 9})], RULES)
    assert where(plan) == [("ST-PARIS", "pickup", [("A", 1), ("B", 1)])]
    assert store_share(plan) == {"ST-PARIS": lines(("A", 1), ("B", 1))}


def test_pickup_with_ship_to_store_for_the_missing_line() -> None:
    store = loc("ST-PARIS", "store", *STORE_PARIS, {"A": 1}, pickup=True)
    warehouses = [loc("WH-LYON", "warehouse", *WH_LYON, {"B": 9}), loc("WH-LILLE", "warehouse", *WH_LILLE, {"B": 9})]
    plan = plan_pickup(lines(("A", 1), ("B", 2)), store, warehouses, RULES)
    assert where(plan) == [
        ("ST-PARIS", "pickup", [("A", 1), ("B", 2)]),
        ("WH-LILLE", "ship_to_store", [("B", 2)]),
    ]
    assert plan.assignments[1].deliver_to == "ST-PARIS"
    assert store_share(plan) == {"ST-PARIS": [PlanLine("L1", "A", 1)]}
    assert note(plan, "ST-PARIS") == ("chosen", ["out_of_stock", "ship_to_store"])
    assert note(plan, "WH-LYON") == ("not_chosen", ["ranked_lower"])


def test_pickup_without_ship_to_store_is_unserved() -> None:
    store = loc("ST-PARIS", "store", *STORE_PARIS, {"A": 1}, pickup=True)
    plan = plan_pickup(
        lines(("A", 1), ("B", 2)),
        store,
        [loc("WH-LYON", "warehouse", *WH_LYON, {"B": 9})],
        SourcingRules(ship_to_store=False),
    )
    assert plan.assignments == []
    assert plan.unserved == [PlanLine("L2", "B", 2)]


def test_pickup_when_no_warehouse_has_the_missing_line() -> None:
    store = loc("ST-PARIS", "store", *STORE_PARIS, {"A": 1}, pickup=True)
    plan = plan_pickup(lines(("A", 1), ("B", 2)), store, [loc("WH-LYON", "warehouse", *WH_LYON, {"B": 1})], RULES)
    assert plan.assignments == []
    assert [(ln.sku, ln.quantity) for ln in plan.unserved] == [("B", 1)]


def test_pickup_at_a_store_that_offers_none() -> None:
    store = loc("ST-PARIS", "store", *STORE_PARIS, {"A": 1}, pickup=False)
    plan = plan_pickup(lines(("A", 1)), store, [], RULES)
    assert plan.assignments == [] and note(plan, "ST-PARIS") == ("skipped", ["no_pickup"])


# ---- configuration and simulation


def test_rules_validate_their_criteria() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"criteria": ["nearest", "nearest"]}, SourcingRules)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"criteria": ["fastest"]}, SourcingRules)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"parcel_cost": {"van": 1}}, SourcingRules)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"surprise": 1}, SourcingRules)
    assert msgspec.convert({}, SourcingRules).criteria == ["fewest_parcels", "nearest", "lowest_cost"]


def test_compare_plans_adds_up_the_changes() -> None:
    candidates = [
        loc("WH-LYON", "warehouse", *WH_LYON, {"A": 5, "B": 5}),
        loc("ST-PARIS", "store", *STORE_PARIS, {"A": 5}),
        loc("ST-ORLY", "store", *STORE_ORLY, {"B": 5}),
    ]
    kinds = {c.code: c.kind for c in candidates}
    order = lines(("A", 1), ("B", 1))
    before = plan_delivery(order, candidates, RULES, destination=PARIS)
    after = plan_delivery(order, candidates, SourcingRules(criteria=["nearest"]), destination=PARIS)
    diff = PlanDiff()
    compare_plans(diff, before, after, kinds)
    compare_plans(diff, before, before, kinds)
    assert diff.orders == 2 and diff.changed == 1
    assert (diff.parcels_before, diff.parcels_after) == (2, 3)
    assert (diff.splits_before, diff.splits_after) == (0, 1)
    assert (diff.store_assignments_before, diff.store_assignments_after) == (0, 2)
    assert diff.km_before == pytest.approx(2 * 391.5, abs=1)
    assert diff.km_after < diff.km_before


def test_nothing_to_source_plans_nothing_and_explains_every_location() -> None:
    """An empty cart's delivery promise (POST /v1/pricing/quote with an empty cart_id, found by
    ops/bench/fuzz.py) planned with no lines: every location was skipped with no reason and the
    explanation's count raised IndexError (a 500)."""
    plan = plan_delivery([], [loc("WH", "warehouse", 48.9, 2.4, {"A": 5})], RULES, destination=PARIS)
    assert plan.assignments == [] and not plan.unserved
