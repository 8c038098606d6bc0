"""Fulfillment rules: pure functions on plain data, no I/O.

- Sourcing: which locations fulfil an order's lines (`plan_delivery`, `plan_pickup`), with an
  explanation of every candidate considered (`Plan.notes`).
- The rule configuration (`SourcingRules`), versioned by the service; `compare_plans` is what
  the simulator adds up.
- Fulfillment order state machine (`next_status`).
- Pick lists: which open fulfillment orders go into one walk (`select_batch`), their lines
  aggregated by SKU and sorted by bin (`aggregate_pick_lines`), and how found quantities
  are shared between the orders (`share_found`).
- Pickup codes (`new_pickup_code`, `hash_pickup_code`, `check_pickup_code`) and the counter
  identity check that replaces a code (`check_pickup_identity`).
- Reject reasons and the stock correction each implies (`REJECT_REASONS`).
- Customer cancellations: which fulfillment order lines give up the units (`units_to_cancel`).

How a delivery is sourced (the documented order; `SourcingRules.criteria` reorders it):
1. Candidates are the active locations that ship, not excluded for this order (a store
   that rejected it), below their daily capacity. A SKU counts at a location only for its
   `available` units (on hand - reserved - safety stock): a store's last units below its
   safety stock are never taken.
2. Plans: every single location that has everything; if none does (or if
   `fewest_parcels` is not the first criterion), split plans: a greedy cover (the location
   serving most of what is left, ties broken by the other criteria) and a line-by-line
   plan (each line from its best location).
3. Plans are ranked by the criteria in order: `fewest_parcels` (number of locations),
   `nearest` (sum of kilometres from each location to the delivery address),
   `lowest_cost` (per-parcel cost of the location kind + cost per km), `warehouse_first`
   (number of stores used). Ties: location codes, alphabetically (deterministic).
4. `allow_split=False`: a split plan is never chosen (the order cannot be placed).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from app.core.schema import stated

# ---------------------------------------------------------------- configuration


Criterion = Literal["fewest_parcels", "nearest", "lowest_cost", "warehouse_first"]
CRITERIA: tuple[str, ...] = ("fewest_parcels", "nearest", "lowest_cost", "warehouse_first")
DEFAULT_CRITERIA: list[Criterion] = ["fewest_parcels", "nearest", "lowest_cost"]

Cost = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
LOCATION_KINDS = ("warehouse", "store")
Positive = Annotated[int, msgspec.Meta(gt=0, le=100_000)]


class SourcingRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One version of the retailer's fulfillment configuration (routing and timings)."""

    # `__post_init__` refuses a repeated criterion and a parcel cost for another kind; the
    # OpenAPI schema states both (`extra`: what Litestar copies onto the field's schema).
    criteria: Annotated[
        list[Criterion], msgspec.Meta(min_length=1, max_length=4, extra_json_schema=stated(unique_items=True))
    ] = msgspec.field(default_factory=lambda: list(DEFAULT_CRITERIA))
    allow_split: bool = True
    # BOPIS: when the store lacks lines, ship them from a warehouse to the store.
    ship_to_store: bool = True
    # Cost of one parcel by location kind, in minor units, plus a cost per kilometre.
    parcel_cost: Annotated[
        dict[str, Cost], msgspec.Meta(extra_json_schema=stated(property_names={"enum": list(LOCATION_KINDS)}))
    ] = msgspec.field(default_factory=lambda: {"warehouse": 450, "store": 650})
    cost_per_km: Cost = 1
    # Per-location parcel cost overriding the kind's.
    location_cost: dict[str, Cost] = msgspec.field(default_factory=dict)
    # How many other candidates an explanation lists besides the chosen ones.
    explain_limit: Annotated[int, msgspec.Meta(ge=0, le=200)] = 20
    # Ship-from-store: minutes a store has to accept before it counts as a rejection, and
    # how many rejections a line survives before it is cancelled and refunded.
    store_response_minutes: Positive = 120
    max_rejections: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    # BOPIS: days a ready pickup waits before it expires; wrong codes before it locks.
    pickup_expiry_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    pickup_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    # Pick lists: size of one walk; pickups whose slot is this near go first.
    pick_list_max_orders: Annotated[int, msgspec.Meta(ge=1, le=500)] = 20
    pick_list_max_units: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 200
    pickup_priority_minutes: Positive = 120

    def __post_init__(self) -> None:
        if len(set(self.criteria)) != len(self.criteria):
            raise ValueError("criteria must not repeat")
        for kind in self.parcel_cost:
            if kind not in LOCATION_KINDS:
                raise ValueError(f"parcel_cost kind must be warehouse or store, not {kind!r}")


# ---------------------------------------------------------------- sourcing inputs


class StockAt(msgspec.Struct, frozen=True):
    """One SKU at one location. `available` is net of reservations and safety stock."""

    available: int
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    kind: str  # warehouse | store
    latitude: float
    longitude: float
    ships: bool = True
    pickup: bool = False
    active: bool = True
    daily_capacity: int = 1_000_000
    assigned_today: int = 0
    stock: dict[str, StockAt] = msgspec.field(default_factory=dict)

    def available(self, sku: str) -> int:
        at = self.stock.get(sku)
        return max(at.available, 0) if at else 0


class PlanLine(msgspec.Struct, frozen=True):
    line_id: str
    sku: str
    quantity: int


class Point(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float


# ---------------------------------------------------------------- sourcing outputs


FulfillmentType = Literal["delivery", "pickup", "ship_to_store"]


class Reason(msgspec.Struct, frozen=True):
    code: str
    detail: str


class CandidateNote(msgspec.Struct, frozen=True, kw_only=True):
    """Why one location was taken or skipped (shown to the contact center)."""

    location_code: str
    kind: str
    outcome: Literal["chosen", "not_chosen", "skipped"]
    distance_km: float | None = None
    cost: int | None = None
    reasons: list[Reason] = msgspec.field(default_factory=list)


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """One fulfillment order to create: a location, a type, and the lines it serves."""

    location_code: str
    type: FulfillmentType
    lines: list[PlanLine]
    distance_km: float | None = None
    cost: int = 0
    # ship_to_store: the store the parcel goes to.
    deliver_to: str | None = None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    assignments: list[Assignment]
    # What no location can serve.
    unserved: list[PlanLine] = msgspec.field(default_factory=list)
    split: bool = False
    summary: str = ""
    notes: list[CandidateNote] = msgspec.field(default_factory=list)
    skipped_counts: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unserved

    @property
    def parcels(self) -> int:
        return sum(1 for a in self.assignments if a.type != "pickup")

    @property
    def kilometres(self) -> float:
        return round(sum(a.distance_km or 0.0 for a in self.assignments), 1)


# ---------------------------------------------------------------- geometry and cost


EARTH_RADIUS_KM = 6371.0088


def distance_km(a: Point | None, lat: float, lon: float) -> float | None:
    """Great-circle (haversine) distance; None when the destination is unknown."""
    if a is None:
        return None
    p1, p2 = math.radians(a.latitude), math.radians(lat)
    dp, dl = p2 - p1, math.radians(lon - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h))), 1)


def parcel_cost(rules: SourcingRules, candidate: Candidate, km: float | None) -> int:
    base = rules.location_cost.get(candidate.code, rules.parcel_cost.get(candidate.kind, 0))
    return base + round(rules.cost_per_km * (km or 0.0))


# ---------------------------------------------------------------- filtering


def _need_by_sku(lines: Sequence[PlanLine]) -> dict[str, int]:
    need: dict[str, int] = {}
    for line in lines:
        need[line.sku] = need.get(line.sku, 0) + line.quantity
    return need


def _stock_reasons(candidate: Candidate, need: dict[str, int]) -> list[Reason]:
    """Why this location lacks what the lines need (empty when it has everything)."""
    reasons: list[Reason] = []
    for sku, qty in sorted(need.items()):
        at = candidate.stock.get(sku)
        have = max(at.available, 0) if at else 0
        if have >= qty:
            continue
        if at is not None and have == 0 and at.on_hand - at.reserved > 0:
            reasons.append(
                Reason(
                    "safety_stock_only",
                    f"{sku}: {at.on_hand - at.reserved} unreserved unit(s), all held as safety stock "
                    f"({at.safety_stock})",
                )
            )
        elif have == 0:
            reasons.append(Reason("out_of_stock", f"{sku}: none available"))
        else:
            reasons.append(Reason("not_enough_stock", f"{sku}: {have} of {qty} available"))
    return reasons


def _gate(candidate: Candidate, *, must_ship: bool, excluded: frozenset[str]) -> Reason | None:
    """A reason to skip the location before looking at stock, or None."""
    if not candidate.active:
        return Reason("inactive", "location is not active")
    if candidate.code in excluded:
        return Reason("excluded", "excluded for this order (rejected it earlier)")
    if must_ship and not candidate.ships:
        return Reason("does_not_ship", "location does not ship parcels")
    if candidate.assigned_today >= candidate.daily_capacity:
        return Reason(
            "at_capacity",
            f"daily capacity reached ({candidate.assigned_today}/{candidate.daily_capacity} fulfillment orders today)",
        )
    return None


class _Scored(msgspec.Struct, frozen=True):
    candidate: Candidate
    km: float | None
    cost: int


# ---------------------------------------------------------------- ranking


def _plan_key(
    rules: SourcingRules, parts: Sequence[tuple[_Scored, list[PlanLine]]]
) -> tuple[float | int | tuple[str, ...], ...]:
    values: list[float | int | tuple[str, ...]] = []
    for criterion in rules.criteria:
        if criterion == "fewest_parcels":
            values.append(len(parts))
        elif criterion == "nearest":
            values.append(round(sum(s.km or 0.0 for s, _ in parts), 1))
        elif criterion == "lowest_cost":
            values.append(sum(s.cost for s, _ in parts))
        elif criterion == "warehouse_first":
            values.append(sum(1 for s, _ in parts if s.candidate.kind != "warehouse"))
    values.append(tuple(sorted(s.candidate.code for s, _ in parts)))
    return tuple(values)


def _single_key(rules: SourcingRules, scored: _Scored) -> tuple[float | int | tuple[str, ...], ...]:
    return _plan_key(rules, [(scored, [])])


# ---------------------------------------------------------------- split plans


def _greedy_cover(
    rules: SourcingRules, lines: Sequence[PlanLine], pool: list[_Scored]
) -> tuple[list[tuple[_Scored, list[PlanLine]]], list[PlanLine]]:
    """Repeatedly take the location that serves most of what is left (lines, then units);
    a line may be split by quantity across locations when none has all of it."""
    left: list[PlanLine] = list(lines)
    room = {s.candidate.code: dict((sku, s.candidate.available(sku)) for sku in _need_by_sku(lines)) for s in pool}
    ranked = sorted(pool, key=lambda s: _single_key(rules, s))
    parts: list[tuple[_Scored, list[PlanLine]]] = []
    used: set[str] = set()
    while left:
        best: tuple[tuple[int, int], _Scored] | None = None
        for scored in ranked:
            if scored.candidate.code in used:
                continue
            free = dict(room[scored.candidate.code])
            whole = units = 0
            for line in left:
                take = min(free.get(line.sku, 0), line.quantity)
                if take:
                    free[line.sku] -= take
                    units += take
                    whole += take == line.quantity
            if units and (best is None or (whole, units) > best[0]):
                best = ((whole, units), scored)
        if best is None:
            break
        scored = best[1]
        used.add(scored.candidate.code)
        free = room[scored.candidate.code]
        taken: list[PlanLine] = []
        rest: list[PlanLine] = []
        for line in left:
            take = min(free.get(line.sku, 0), line.quantity)
            if take:
                free[line.sku] -= take
                taken.append(PlanLine(line.line_id, line.sku, take))
            if take < line.quantity:
                rest.append(PlanLine(line.line_id, line.sku, line.quantity - take))
        parts.append((scored, taken))
        left = rest
    return parts, left


def _line_by_line(
    rules: SourcingRules, lines: Sequence[PlanLine], pool: list[_Scored]
) -> tuple[list[tuple[_Scored, list[PlanLine]]], list[PlanLine]]:
    """Each line from the best-ranked location that has all of it."""
    ranked = sorted(pool, key=lambda s: _single_key(rules, s))
    room = {s.candidate.code: dict((sku, s.candidate.available(sku)) for sku in _need_by_sku(lines)) for s in ranked}
    by_code: dict[str, tuple[_Scored, list[PlanLine]]] = {}
    left: list[PlanLine] = []
    for line in lines:
        for scored in ranked:
            free = room[scored.candidate.code]
            if free.get(line.sku, 0) >= line.quantity:
                free[line.sku] -= line.quantity
                by_code.setdefault(scored.candidate.code, (scored, []))[1].append(line)
                break
        else:
            left.append(line)
    return list(by_code.values()), left


# ---------------------------------------------------------------- the planner


def _choose(
    rules: SourcingRules,
    lines: Sequence[PlanLine],
    pool: list[_Scored],
) -> tuple[list[tuple[_Scored, list[PlanLine]]], list[PlanLine]]:
    need = _need_by_sku(lines)
    options: list[list[tuple[_Scored, list[PlanLine]]]] = [
        [(s, list(lines))] for s in pool if all(s.candidate.available(k) >= q for k, q in need.items())
    ]
    parcels_first = rules.criteria[0] == "fewest_parcels"
    if rules.allow_split and (not options or not parcels_first):
        for make in (_greedy_cover, _line_by_line):
            parts, left = make(rules, lines, pool)
            if parts and not left:
                options.append(parts)
    if options:
        return min(options, key=lambda parts: _plan_key(rules, parts)), []
    if not rules.allow_split or not pool:
        return [], list(lines)
    # Nothing serves everything: keep the best partial cover, so the caller can say what
    # is available where (409 at placement, cancel-and-refund when re-sourcing).
    return _greedy_cover(rules, lines, pool)


def _explain(
    rules: SourcingRules,
    scored: list[_Scored],
    chosen: dict[str, list[PlanLine]],
    skipped: list[tuple[Candidate, float | None, list[Reason]]],
    lines: Sequence[PlanLine],
    best: tuple[float | int | tuple[str, ...], ...] | None,
) -> tuple[list[CandidateNote], dict[str, int]]:
    notes: list[CandidateNote] = []
    need = _need_by_sku(lines)
    for s in sorted(scored, key=lambda s: _single_key(rules, s)):
        if s.candidate.code in chosen:
            served = ", ".join(f"{ln.quantity}x {ln.sku}" for ln in chosen[s.candidate.code])
            notes.append(
                CandidateNote(
                    location_code=s.candidate.code,
                    kind=s.candidate.kind,
                    outcome="chosen",
                    distance_km=s.km,
                    cost=s.cost,
                    reasons=[Reason("serves", served)],
                )
            )
    others: list[CandidateNote] = []
    for s in scored:
        if s.candidate.code in chosen:
            continue
        missing = _stock_reasons(s.candidate, need)
        reasons = missing or [Reason("ranked_lower", _ranked_lower_detail(rules, s))]
        others.append(
            CandidateNote(
                location_code=s.candidate.code,
                kind=s.candidate.kind,
                outcome="not_chosen",
                distance_km=s.km,
                cost=s.cost,
                reasons=reasons,
            )
        )
    for candidate, km, reasons in skipped:
        others.append(
            CandidateNote(
                location_code=candidate.code, kind=candidate.kind, outcome="skipped", distance_km=km, reasons=reasons
            )
        )
    counts: dict[str, int] = {}
    for note in others:
        counts[note.reasons[0].code] = counts.get(note.reasons[0].code, 0) + 1
    # Long explanations stay readable: the nearest others, the rest only counted.
    others.sort(key=lambda n: (n.distance_km if n.distance_km is not None else math.inf, n.location_code))
    return notes + others[: rules.explain_limit], counts


def _ranked_lower_detail(rules: SourcingRules, s: _Scored) -> str:
    return (
        f"has everything but ranks lower by {', '.join(rules.criteria)} "
        f"({s.km if s.km is not None else '?'} km, cost {s.cost})"
    )


def _score(rules: SourcingRules, candidates: Iterable[Candidate], to: Point | None) -> list[_Scored]:
    out: list[_Scored] = []
    for c in candidates:
        km = distance_km(to, c.latitude, c.longitude)
        out.append(_Scored(c, km, parcel_cost(rules, c, km)))
    return out


def plan_delivery(
    lines: Sequence[PlanLine],
    candidates: Iterable[Candidate],
    rules: SourcingRules,
    *,
    destination: Point | None,
    excluded: Iterable[str] = (),
    type: FulfillmentType = "delivery",
    deliver_to: str | None = None,
) -> Plan:
    """Choose the shipping locations for `lines` (see the module docstring)."""
    if not lines:  # an empty cart's quote: nothing to ship, no location to explain
        return Plan(assignments=[], summary="nothing to ship")
    excluded_set = frozenset(excluded)
    need = _need_by_sku(lines)
    eligible: list[Candidate] = []
    skipped: list[tuple[Candidate, float | None, list[Reason]]] = []
    for c in candidates:
        gate = _gate(c, must_ship=True, excluded=excluded_set)
        if gate is not None:
            skipped.append((c, distance_km(destination, c.latitude, c.longitude), [gate]))
        elif not any(c.available(sku) > 0 for sku in need):
            skipped.append((c, distance_km(destination, c.latitude, c.longitude), _stock_reasons(c, need)))
        else:
            eligible.append(c)
    scored = _score(rules, eligible, destination)
    parts, unserved = _choose(rules, lines, scored)
    chosen = {s.candidate.code: taken for s, taken in parts}
    notes, counts = _explain(rules, scored, chosen, skipped, lines, None)
    assignments = [
        Assignment(
            location_code=s.candidate.code,
            type=type,
            lines=taken,
            distance_km=s.km,
            cost=s.cost,
            deliver_to=deliver_to,
        )
        for s, taken in sorted(parts, key=lambda p: p[0].candidate.code)
    ]
    split = len(assignments) > 1
    return Plan(
        assignments=assignments,
        unserved=unserved,
        split=split,
        summary=_summary(assignments, unserved, split, len(scored) + len(skipped)),
        notes=notes,
        skipped_counts=counts,
    )


def _summary(assignments: list[Assignment], unserved: list[PlanLine], split: bool, considered: int) -> str:
    where = ", ".join(a.location_code for a in assignments) or "nowhere"
    text = f"{considered} location(s) considered; "
    if split:
        text += f"no single location has everything: split into {len(assignments)} parcels ({where})"
    else:
        text += f"served from {where}"
    if unserved:
        text += "; not available anywhere: " + ", ".join(f"{ln.quantity}x {ln.sku}" for ln in unserved)
    return text


def plan_pickup(
    lines: Sequence[PlanLine],
    store: Candidate,
    warehouses: Iterable[Candidate],
    rules: SourcingRules,
) -> Plan:
    """BOPIS at `store`: from its stock when it has everything; otherwise (if the rules allow
    ship-to-store) the lines it lacks come from warehouses to the store; what neither can
    serve is `unserved`."""
    store_note = CandidateNote(location_code=store.code, kind=store.kind, outcome="chosen", distance_km=0.0)
    if not store.active or not store.pickup:
        why = Reason("no_pickup", "store does not offer pickup") if store.active else Reason("inactive", "inactive")
        return Plan(
            assignments=[],
            unserved=list(lines),
            summary=f"{store.code} cannot take pickups",
            notes=[CandidateNote(location_code=store.code, kind=store.kind, outcome="skipped", reasons=[why])],
        )
    room = {sku: store.available(sku) for sku in _need_by_sku(lines)}
    at_store: list[PlanLine] = []
    missing: list[PlanLine] = []
    for line in lines:
        if room.get(line.sku, 0) >= line.quantity:
            room[line.sku] -= line.quantity
            at_store.append(line)
        else:
            missing.append(line)
    if not missing:
        note = msgspec.structs.replace(store_note, reasons=[Reason("serves", "the store has every line")])
        return Plan(
            assignments=[Assignment(location_code=store.code, type="pickup", lines=list(lines), distance_km=0.0)],
            summary=f"picked up at {store.code} from its own stock",
            notes=[note],
        )
    lacking = _stock_reasons(store, _need_by_sku(missing))
    if not rules.ship_to_store:
        return Plan(
            assignments=[],
            unserved=missing,
            summary=f"{store.code} lacks {len(missing)} line(s) and ship-to-store is off",
            notes=[msgspec.structs.replace(store_note, outcome="skipped", reasons=lacking)],
        )
    here = Point(store.latitude, store.longitude)
    pool = [w for w in warehouses if w.kind == "warehouse" and w.code != store.code]
    inbound = plan_delivery(missing, pool, rules, destination=here, type="ship_to_store", deliver_to=store.code)
    reasons = [*lacking, Reason("ship_to_store", "missing lines come from a warehouse to the store")]
    pickup = Assignment(location_code=store.code, type="pickup", lines=list(lines), distance_km=0.0)
    assignments = [pickup, *inbound.assignments] if inbound.complete else []
    return Plan(
        assignments=assignments,
        unserved=inbound.unserved,
        split=False,
        summary=(
            f"picked up at {store.code}; {len(missing)} line(s) shipped to the store first: {inbound.summary}"
            if inbound.complete
            else f"{store.code} lacks {len(missing)} line(s) and no warehouse has them: {inbound.summary}"
        ),
        notes=[msgspec.structs.replace(store_note, reasons=reasons), *inbound.notes],
        skipped_counts=inbound.skipped_counts,
    )


def store_share(plan: Plan) -> dict[str, list[PlanLine]]:
    """For a pickup plan: which lines the pickup store itself reserves (the others arrive)."""
    inbound = {(ln.line_id, ln.sku) for a in plan.assignments if a.type == "ship_to_store" for ln in a.lines}
    pickup = [a for a in plan.assignments if a.type == "pickup"]
    if not pickup:
        return {}
    own = [ln for ln in pickup[0].lines if (ln.line_id, ln.sku) not in inbound]
    return {pickup[0].location_code: own}


# ---------------------------------------------------------------- simulation


class PlanDiff(msgspec.Struct, kw_only=True):
    orders: int = 0
    changed: int = 0
    parcels_before: int = 0
    parcels_after: int = 0
    splits_before: int = 0
    splits_after: int = 0
    km_before: float = 0.0
    km_after: float = 0.0
    store_assignments_before: int = 0
    store_assignments_after: int = 0
    unserved_before: int = 0
    unserved_after: int = 0


def compare_plans(diff: PlanDiff, before: Plan, after: Plan, kinds: dict[str, str]) -> None:
    """Add one order's current and proposed plans to the totals."""
    diff.orders += 1
    where_before = sorted((a.location_code, a.type) for a in before.assignments)
    where_after = sorted((a.location_code, a.type) for a in after.assignments)
    diff.changed += where_before != where_after
    diff.parcels_before += before.parcels
    diff.parcels_after += after.parcels
    diff.splits_before += before.split
    diff.splits_after += after.split
    diff.km_before = round(diff.km_before + before.kilometres, 1)
    diff.km_after = round(diff.km_after + after.kilometres, 1)
    diff.store_assignments_before += sum(kinds.get(a.location_code) == "store" for a in before.assignments)
    diff.store_assignments_after += sum(kinds.get(a.location_code) == "store" for a in after.assignments)
    diff.unserved_before += bool(before.unserved)
    diff.unserved_after += bool(after.unserved)


# ---------------------------------------------------------------- state machine


# action -> {from status: to status}
TRANSITIONS: dict[str, dict[str, str]] = {
    "transfer_arrived": {"awaiting_transfer": "created"},
    "accept": {"created": "accepted"},
    "assign": {"created": "assigned", "accepted": "assigned"},
    "pick": {"assigned": "picked"},
    "pack": {"picked": "packed"},
    "ship": {"packed": "shipped"},
    "deliver": {"shipped": "delivered"},
    "ready": {"picked": "ready_for_pickup"},
    "collect": {"ready_for_pickup": "collected"},
    "expire": {"ready_for_pickup": "expired"},
    "reject": {"created": "rejected", "accepted": "rejected", "assigned": "rejected"},
    "cancel": {
        "awaiting_transfer": "cancelled",
        "created": "cancelled",
        "accepted": "cancelled",
        "assigned": "cancelled",
        "picked": "cancelled",
        "packed": "cancelled",
    },
}
# Which fulfillment types may take each action (pickups are never packed or shipped).
ACTION_TYPES: dict[str, frozenset[str]] = {
    "pack": frozenset({"delivery", "ship_to_store"}),
    "ship": frozenset({"delivery", "ship_to_store"}),
    "deliver": frozenset({"delivery", "ship_to_store"}),
    "ready": frozenset({"pickup"}),
    "collect": frozenset({"pickup"}),
    "expire": frozenset({"pickup"}),
    "transfer_arrived": frozenset({"pickup"}),
    "reject": frozenset({"delivery"}),
}
STATUSES = (
    "awaiting_transfer",
    "created",
    "accepted",
    "assigned",
    "picked",
    "packed",
    "shipped",
    "delivered",
    "ready_for_pickup",
    "collected",
    "expired",
    "rejected",
    "cancelled",
)
TERMINAL = frozenset({"delivered", "collected", "expired", "rejected", "cancelled"})
OPEN_FOR_PICKING = frozenset({"created", "accepted"})


class TransitionRefused(ValueError):
    def __init__(self, status: str, action: str, type: str) -> None:
        super().__init__(f"cannot {action} a {type} fulfillment order that is {status}")
        self.status, self.action, self.type = status, action, type


def next_status(status: str, action: str, type: str) -> str:
    """The status after `action`, or TransitionRefused."""
    allowed_types = ACTION_TYPES.get(action)
    target = TRANSITIONS.get(action, {}).get(status)
    if target is None or (allowed_types is not None and type not in allowed_types):
        raise TransitionRefused(status, action, type)
    return target


# ---------------------------------------------------------------- customer cancellations


# Nothing has been taken off a shelf yet: the units can still be given up. `assigned` is on
# a pick list being walked; its confirmation skips what was cancelled meanwhile.
CANCELLABLE = frozenset({"awaiting_transfer", "created", "accepted", "assigned"})
_CANCEL_PREFERENCE = {"awaiting_transfer": 0, "created": 0, "accepted": 1, "assigned": 2}


class OpenUnits(msgspec.Struct, frozen=True):
    """Units of one order line that one fulfillment order could still give up."""

    fulfillment_order: str  # its number: the tie-break
    line_id: str
    status: str
    units: int


class NotCancellable(ValueError):
    def __init__(self, line_id: str, wanted: int, open_units: int) -> None:
        super().__init__(f"line {line_id}: {wanted} units to cancel, {open_units} not picked yet")
        self.line_id, self.wanted, self.open_units = line_id, wanted, open_units


def units_to_cancel(open_units: Sequence[OpenUnits], wanted: dict[str, int]) -> list[tuple[OpenUnits, int]]:
    """Which fulfillment order lines give up the `wanted` units of each order line: the least
    advanced first (no one is working on them), then the smallest share (a whole parcel goes
    away rather than two shrinking), then the fulfillment order number. Raises NotCancellable
    when a line has fewer units not yet picked than wanted."""
    out: list[tuple[OpenUnits, int]] = []
    for line_id, units in sorted(wanted.items()):
        shares = sorted(
            (o for o in open_units if o.line_id == line_id and o.units > 0),
            key=lambda o: (_CANCEL_PREFERENCE.get(o.status, 9), o.units, o.fulfillment_order),
        )
        available = sum(o.units for o in shares)
        if units > available:
            raise NotCancellable(line_id, units, available)
        left = units
        for share in shares:
            if left == 0:
                break
            take = min(left, share.units)
            out.append((share, take))
            left -= take
    return out


# ---------------------------------------------------------------- reject reasons


# reason code -> the stock correction it implies for the rejected lines:
# "count_zero": the store does not have them (cycle-count correction of on_hand to what is
#   reserved elsewhere: the available quantity becomes 0), "damage": the units are written
#   off as damaged, None: no stock change (e.g. no staff to pick today).
REJECT_REASONS: dict[str, str | None] = {
    "no_staff": None,
    "item_damaged": "damage",
    "not_found": "count_zero",
}


def rejection_outcome(went_to: list[tuple[str, str]], cancelled_units: int, why: str | None) -> str:
    """Where a rejected fulfillment order's lines went, in one sentence an associate reads."""
    parts = [f"sent to {number} at {location}" for number, location in went_to]
    if cancelled_units:
        parts.append(
            f"{cancelled_units} unit(s) cancelled and refunded: no location could take them ({why or 'none left'})"
        )
    return "; ".join(parts) or "nothing left to send"


# ---------------------------------------------------------------- pick lists


class OpenOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    created_at: datetime
    units: int
    promised_at: datetime | None = None
    pickup_slot_at: datetime | None = None


def batch_priority(order: OpenOrder, now: datetime, window: timedelta) -> tuple[int, datetime, datetime, str]:
    """Pickups whose slot is near go first, then the oldest promise, then the oldest order."""
    urgent = order.type == "pickup" and order.pickup_slot_at is not None and order.pickup_slot_at <= now + window
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return (0 if urgent else 1, order.promised_at or far, order.created_at, order.id)


def select_batch(
    orders: Iterable[OpenOrder], now: datetime, *, max_orders: int, max_units: int, window: timedelta
) -> list[OpenOrder]:
    """One walk: in priority order, up to `max_orders` orders and `max_units` units (an
    order bigger than `max_units` alone still gets its own walk)."""
    batch: list[OpenOrder] = []
    units = 0
    for order in sorted(orders, key=lambda o: batch_priority(o, now, window)):
        if len(batch) >= max_orders:
            break
        if batch and units + order.units > max_units:
            continue
        batch.append(order)
        units += order.units
    return batch


class PickSource(msgspec.Struct, frozen=True):
    fulfillment_order_id: str
    line_id: str
    sku: str
    quantity: int


class PickShare(msgspec.Struct, frozen=True):
    fulfillment_order_id: str
    line_id: str
    quantity: int


class PickLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    bin: str | None
    quantity: int
    shares: list[PickShare]


def bin_sort_key(bin_code: str | None, sku: str) -> tuple[int, tuple[tuple[int, int | str], ...], str]:
    """Natural order of bin codes (A-2-10 after A-2-9); SKUs without a bin walk last."""
    if bin_code is None:
        return (1, (), sku)
    parts = tuple((0, int(p)) if p.isdigit() else (1, p.upper()) for p in re.split(r"(\d+)", bin_code) if p)
    return (0, parts, sku)


def aggregate_pick_lines(sources: Sequence[PickSource], bins: dict[str, str]) -> list[PickLine]:
    """Lines of the batch's orders, one per SKU, in walking order; each says which orders
    get how many (in the order the sources came: the batch's priority order)."""
    by_sku: dict[str, list[PickShare]] = {}
    for src in sources:
        by_sku.setdefault(src.sku, []).append(PickShare(src.fulfillment_order_id, src.line_id, src.quantity))
    lines = [
        PickLine(sku=sku, bin=bins.get(sku), quantity=sum(s.quantity for s in shares), shares=shares)
        for sku, shares in by_sku.items()
    ]
    return sorted(lines, key=lambda ln: bin_sort_key(ln.bin, ln.sku))


def share_found(shares: Sequence[PickShare], found: int) -> list[tuple[PickShare, int]]:
    """Give the units found to the shares in priority order: (share, units picked)."""
    if found < 0:
        raise ValueError("found must not be negative")
    out: list[tuple[PickShare, int]] = []
    left = found
    for share in shares:
        take = min(left, share.quantity)
        out.append((share, take))
        left -= take
    return out


# ---------------------------------------------------------------- pickup codes


PICKUP_CODE_DIGITS = 6


def new_pickup_code() -> str:
    """Six digits from the OS's CSPRNG: short enough to read out, not guessable."""
    return f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"


def hash_pickup_code(code: str, salt: bytes) -> bytes:
    # A slow, salted hash: a 6-digit space is small, so a leaked row must not be cheap to
    # reverse; the attempt counter is what protects the counter itself.
    return hashlib.scrypt(code.encode(), salt=salt, n=2**12, r=8, p=1, dklen=32)


PickupCheck = Literal["ok", "wrong", "locked", "used"]


def check_pickup_code(
    code: str, *, stored_hash: bytes | None, salt: bytes | None, attempts: int, max_attempts: int, used: bool
) -> PickupCheck:
    """Decide one presentation of a code. `wrong` means the caller must count the attempt."""
    if used:
        return "used"
    if attempts >= max_attempts:
        return "locked"
    if stored_hash is None or salt is None or not (code.isdigit() and len(code) == PICKUP_CODE_DIGITS):
        return "wrong"
    return "ok" if hmac.compare_digest(hash_pickup_code(code, salt), stored_hash) else "wrong"


def check_pickup_identity(matches: bool, *, attempts: int, max_attempts: int, used: bool) -> PickupCheck:
    """The order number plus the customer's card or phone instead of the code: the same
    single use and the same attempt counter, so guessing is no easier this way."""
    if used:
        return "used"
    if attempts >= max_attempts:
        return "locked"
    return "ok" if matches else "wrong"
