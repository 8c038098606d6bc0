"""Fulfillment over HTTP: fulfillment orders and their transitions, pick lists (with a
printable view), bins, sourcing rule versions and the simulator, carrier webhooks.

Keys bound to a location (logistics, POS) see and act on their own location's work only;
another location's fulfillment order answers 404, like an unknown one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal, Role, roles
from app.core.errors import InvalidInput, problem_response, problem_responses
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.routes import action
from app.core.schema import Body, Code
from app.flows import fulfillment_progress
from app.fulfillment import rules, service
from app.fulfillment.schemas import (
    BinsBody,
    BinsOut,
    CarrierEventBody,
    CarrierEventOut,
    CollectBody,
    ConfirmBody,
    FulfillmentOrderOut,
    OrderFulfillmentOut,
    PackBody,
    ParcelScan,
    PickListOut,
    RejectBody,
    RuleVersionCreate,
    RuleVersionOut,
    SimulationCreate,
    SimulationOut,
)

READERS = roles(Role.ADMIN, Role.LOGISTICS, Role.POS, Role.CONTACT_CENTER, Role.INTEGRATION)
WORKERS = roles(Role.ADMIN, Role.LOGISTICS, Role.POS)
COUNTER = roles(Role.ADMIN, Role.POS)
RULE_READERS = roles(Role.ADMIN, Role.MERCHANDISER, Role.CONTACT_CENTER, Role.INTEGRATION)
ADMIN = roles(Role.ADMIN)
BIN_WRITERS = roles(Role.ADMIN, Role.LOGISTICS, Role.INTEGRATION)
CARRIERS = roles(Role.ADMIN, Role.INTEGRATION)

# The schema lists the statuses; an unknown one answers 422 `invalid_status` naming the field.
StatusParam = Annotated[str | None, Parameter(max_length=20, schema_extra={"enum": list(rules.STATUSES)})]
CodeParam = Annotated[str | None, Parameter(max_length=40)]


class PickListCreate(Body):
    """A location-bound key picks at its own location; admin names one."""

    location_code: Code | None = None


# ---- fulfillment orders ---------------------------------------------------------------------


@get(
    "/fulfillment-orders",
    opt=READERS,
    summary="Fulfillment orders (a location key sees its own)",
    responses=problem_responses(400),
)
async def list_fulfillment_orders(
    db_session: AsyncSession,
    principal: Principal,
    location_code: CodeParam = None,
    status: StatusParam = None,
    order_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[FulfillmentOrderOut]:
    if status is not None and status not in rules.STATUSES:
        raise InvalidInput(f"unknown status {status!r}", code="invalid_status", field="status")
    return await service.list_fulfillment_orders(
        db_session, principal, location_code=location_code, status=status, order_id=order_id, limit=limit, cursor=cursor
    )


@get("/fulfillment-orders/{fo_id:uuid}", opt=READERS, summary="One fulfillment order", responses=problem_responses(404))
async def get_fulfillment_order(
    db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID
) -> FulfillmentOrderOut:
    return await service.get_fulfillment_order(db_session, principal, fo_id)


@get(
    "/fulfillment-orders/by-order/{order_id:uuid}",
    opt=roles(Role.ADMIN, Role.CONTACT_CENTER, Role.INTEGRATION),
    summary="An order's fulfillment: fulfillment orders, sourcing decisions with every candidate, timeline",
    responses=problem_responses(404),
)
async def order_fulfillment(db_session: AsyncSession, order_id: uuid.UUID) -> OrderFulfillmentOut:
    return await service.order_fulfillment(db_session, order_id)


def _transition(
    verb: str, summary: str, *, errors: tuple[int, ...] = (404, 409), opt: dict[str, Any] = WORKERS
) -> post:
    """A fulfillment order's transition; the service refuses another location's key (404)."""
    return action(f"/fulfillment-orders/{{fo_id:uuid}}/{verb}", opt=opt, errors=errors, summary=summary)


@_transition("accept", "The store takes the ship-from-store order")
async def accept(db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    return await service.accept(db_session, principal, fo_id)


@_transition("reject", "The store refuses it: stock corrected by reason, re-sourced elsewhere", errors=(400, 404, 409))
async def reject(
    db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID, data: RejectBody
) -> FulfillmentOrderOut:
    return await fulfillment_progress.reject(db_session, principal, fo_id, data.reason, data.note)


@_transition("pack", "Packed into parcels (carrier + tracking number)", errors=(400, 404, 409))
async def pack(db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID, data: PackBody) -> FulfillmentOrderOut:
    return await service.pack(db_session, principal, fo_id, data)


@_transition("ship", "Shipped: reservation consumed (sale), card captured for the shipped lines")
async def ship(db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    return await fulfillment_progress.ship(db_session, principal, fo_id)


@_transition("ready", "Ready for pickup: a pickup code is sent to the customer")
async def ready(db_session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    return await service.ready(db_session, principal, fo_id)


@_transition(
    "collect",
    "Handed over at the counter against the pickup code, or the order number with the customer's card or phone",
    errors=(400, 404, 409, 422, 423),
    opt=COUNTER,
)
async def collect(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, fo_id: uuid.UUID, data: CollectBody
) -> Response[Any]:
    try:
        return Response(await fulfillment_progress.collect(db_session, principal, fo_id, data))
    except service.CodeRefused as refused:
        # Answered, not raised: the wrong attempt must be committed with the refusal.
        p = refused.problem
        return problem_response(request, status=p.status, code=p.code, title=p.title, detail=p.detail, extra=p.extra)


@action(
    "/carrier-events",
    opt=CARRIERS,
    errors=(400, 404),
    summary="Carrier tracking webhook (delivered completes the parcel)",
)
async def carrier_event(db_session: AsyncSession, data: CarrierEventBody) -> CarrierEventOut:
    return await fulfillment_progress.carrier_event(db_session, data)


@action(
    "/parcels/received",
    opt=WORKERS,
    errors=(400, 404, 409),
    summary="A store scans a ship-to-store parcel in at its back door (as the carrier's delivered)",
)
async def receive_parcel(db_session: AsyncSession, principal: Principal, data: ParcelScan) -> CarrierEventOut:
    """The parcel's units go on the store's stock and are reserved for the pickup they feed,
    whatever the store's safety stock; the pickup opens for picking once all it waits for is
    in. A location-bound key receives only parcels bound for its own store (404 otherwise).
    A repeated scan (or the carrier's event afterwards) answers `duplicate: true`."""
    return await fulfillment_progress.receive_parcel(db_session, principal, data)


# ---- pick lists ---------------------------------------------------------------------------------


@post(
    "/pick-lists",
    opt=WORKERS,
    status_code=201,
    summary="The next pick list of the caller's location",
    responses=problem_responses(400, 403, 404, 422),
)
async def next_pick_list(db_session: AsyncSession, principal: Principal, data: PickListCreate) -> PickListOut:
    location = data.location_code or principal.location_code
    if location is None:
        raise InvalidInput("name the location_code to pick at", code="location_required", field="location_code")
    return await service.next_pick_list(db_session, principal, location)


@get("/pick-lists/{pick_list_id:uuid}", opt=WORKERS, summary="One pick list", responses=problem_responses(404))
async def get_pick_list(db_session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID) -> PickListOut:
    return await service.get_pick_list(db_session, principal, pick_list_id)


@get(
    "/pick-lists/{pick_list_id:uuid}/print",
    opt=WORKERS,
    media_type="text/html",
    summary="Printable pick list (A4 or handheld)",
    responses=problem_responses(404),
)
async def print_pick_list(db_session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID) -> str:
    return service.print_view(await service.get_pick_list(db_session, principal, pick_list_id))


@action(
    "/pick-lists/{pick_list_id:uuid}/confirm",
    opt=WORKERS,
    errors=(400, 404, 409, 422),
    summary="Units found per SKU; short picks are re-sourced and counted",
)
async def confirm_pick_list(
    db_session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID, data: ConfirmBody
) -> PickListOut:
    return await fulfillment_progress.confirm_pick_list(db_session, principal, pick_list_id, data.lines)


@put(
    "/bins/{location_code:str}",
    opt=BIN_WRITERS,
    summary="Set where SKUs live at a location (JSON list or CSV `sku,bin`)",
    responses=problem_responses(400, 403, 422),
)
async def put_bins(db_session: AsyncSession, principal: Principal, location_code: str, data: BinsBody) -> BinsOut:
    if len(location_code) > 40:
        raise InvalidInput("location code too long", code="unknown_location")
    return await service.put_bins(db_session, principal, location_code, data)


# ---- sourcing rules ------------------------------------------------------------------------------


@get("/sourcing/rules", opt=RULE_READERS, summary="The sourcing rules in force")
async def current_rules(db_session: AsyncSession) -> RuleVersionOut:
    return await service.current_version(db_session)


@get(
    "/sourcing/rules/versions",
    opt=RULE_READERS,
    summary="Rule versions, newest first",
    responses=problem_responses(400),
)
async def rule_versions(
    db_session: AsyncSession, limit: Limit = DEFAULT_LIMIT, before: Annotated[int | None, Parameter(ge=1)] = None
) -> list[RuleVersionOut]:
    return await service.list_versions(db_session, before=before, limit=limit)


@get(
    "/sourcing/rules/versions/{version:int}",
    opt=RULE_READERS,
    summary="One rule version",
    responses=problem_responses(404),
)
async def rule_version(db_session: AsyncSession, version: int) -> RuleVersionOut:
    return await service.get_version(db_session, version)


@post("/sourcing/rules", opt=ADMIN, summary="Put a new rule version in force", responses=problem_responses(400))
async def save_rules(db_session: AsyncSession, principal: Principal, data: RuleVersionCreate) -> RuleVersionOut:
    return await service.save_rules(db_session, data.rules, data.note, principal.key_id)


@post(
    "/sourcing/simulate",
    opt=roles(Role.ADMIN, Role.MERCHANDISER),
    status_code=200,
    summary="Replay the last N orders under proposed rules (read-only)",
    responses=problem_responses(400),
)
async def simulate(db_session: AsyncSession, data: SimulationCreate) -> SimulationOut:
    return await service.simulate(db_session, data.rules, data.orders)


ROUTES: list[Any] = [
    list_fulfillment_orders,
    get_fulfillment_order,
    order_fulfillment,
    accept,
    reject,
    pack,
    ship,
    ready,
    collect,
    carrier_event,
    receive_parcel,
    next_pick_list,
    get_pick_list,
    print_pick_list,
    confirm_pick_list,
    put_bins,
    current_rules,
    rule_versions,
    rule_version,
    save_rules,
    simulate,
]
