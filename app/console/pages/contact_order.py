"""Contact center: place an order for the caller. The agent builds the cart on one page (find
a product by name or SKU, or scan its barcode; choose the size and quantity), chooses
delivery to one of the customer's addresses (or a new one) or pickup at a store, reads the
quote to the caller, takes the tender (a card through the payment provider, and/or loyalty
points) and places the order.

The cart lives in the page itself (its lines are the form's fields, re-sent with every step):
nothing is written until the order is placed, so an abandoned call leaves no cart and holds
no stock. The quote is the quote endpoint's (`flows.quote.quote`), the order the API's
(`flows.place_order`) as a contact-center channel order recorded under the staff member.
Each rendering of the form carries a new idempotency key: a double click, or the same form
sent twice, places one order (the second answer is the first one's, replayed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict, MultiDict
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.errors import UnknownSku
from app.catalog.schemas import ProductOut
from app.console.pages.contact import AGENTS
from app.console.rules import Staff, ordering_principal
from app.console.web import find_variant, page, variant_names, whole_number
from app.core.errors import InvalidInput, Problem, declare_codes
from app.core.idempotency import Operation
from app.core.settings import get_settings
from app.customers import service as customers
from app.customers.schemas import CustomerOut
from app.flows import place_order as place_order_flow
from app.flows import quote as quote_flow
from app.inventory import service as inventory
from app.loyalty import service as loyalty
from app.orders.schemas import OrderCreate
from app.pricing import service as pricing
from app.pricing.schemas import QuoteRequest

Params = MultiDict[Any] | FormMultiDict  # the query (building the cart) or the form (placing it)
MAX_LINES = 50
NEW_ADDRESS = "new"
ADDRESS_FIELDS = ("line1", "postal_code", "city", "country")

declare_codes("invalid_order")  # the order form could not be read as a quote


@dataclass
class OrderForm:
    """The cart and choices as the page holds them."""

    lines: dict[str, int] = field(default_factory=dict)  # SKU -> units, in the order added
    deliver: str = ""  # "address:<n>", "new" or "store:<code>"
    new_address: dict[str, str] = field(default_factory=dict)
    code: str = ""
    points: int = 0
    card_token: str = "tok_visa"


def _text(params: Params, name: str, limit: int = 120) -> str:
    return str(params.get(name) or "").strip()[:limit]


def _read_form(params: Params) -> OrderForm:
    form = OrderForm(
        deliver=_text(params, "deliver", 60),
        new_address={name: _text(params, f"new_{name}") for name in ADDRESS_FIELDS},
        code=_text(params, "code", 40).upper(),
        points=whole_number(params.get("points")) or 0,
        card_token=_text(params, "card_token", 100) or "tok_visa",
    )
    removed = _text(params, "remove", 64)
    for sku, qty in zip(params.getall("sku", []), params.getall("qty", []), strict=False):
        units = whole_number(qty)
        if sku and sku != removed and units and len(form.lines) < MAX_LINES:
            form.lines[str(sku)[:64]] = min(units, 999)
    return form


async def _add(session: AsyncSession, form: OrderForm, params: Params) -> tuple[list[ProductOut], str | None]:
    """A size button names a SKU; a scan or typed SKU adds it at once; other text searches
    the catalog by name. Returns the products to choose from, or a refusal."""
    units = whole_number(params.get("add_qty")) or 1
    chosen, typed = _text(params, "add", 64), _text(params, "find", 64)
    if chosen:
        try:
            sku = (await catalog.get_variant(session, chosen)).sku
        except UnknownSku:
            return [], f"There is no SKU {chosen}."
    elif typed:
        variant = await find_variant(session, typed)
        if variant is None:
            found = await catalog.list_products(session, q=typed, channel="contact_center", limit=8)
            if not found.items:
                return [], f"Nothing matches “{typed}”: check the name, SKU or barcode."
            return list(found.items), None
        sku = variant.sku
    else:
        return [], None
    if sku not in form.lines and len(form.lines) >= MAX_LINES:
        return [], f"An order has at most {MAX_LINES} lines."
    form.lines[sku] = min(form.lines.get(sku, 0) + units, 999)
    return [], None


@dataclass
class Choice:
    fulfillment: str  # delivery | pickup
    address: dict[str, Any] | None = None
    store: str | None = None


def _choice(form: OrderForm, customer: CustomerOut) -> Choice | str | None:
    """Where the goods go, or what is missing (None: nothing chosen yet)."""
    if form.deliver.startswith("store:"):
        return Choice("pickup", store=form.deliver.removeprefix("store:"))
    if form.deliver == NEW_ADDRESS:
        given = {name: value for name, value in form.new_address.items() if value}
        missing = [name.replace("_", " ") for name in ADDRESS_FIELDS if name not in given]
        if missing:
            return "The new address needs its " + ", ".join(missing) + "."
        given["country"] = given["country"].upper()
        return Choice("delivery", address={"recipient": customer.name, **given})
    if form.deliver.startswith("address:"):
        index = whole_number(form.deliver.removeprefix("address:"))
        if index is None or index >= len(customer.addresses):
            return "Choose one of the customer's addresses."
        saved = msgspec.to_builtins(customer.addresses[index])
        saved.pop("label", None)
        saved.pop("id", None)
        if not saved.get("postal_code"):
            return "That address has no postal code: enter it as a new address."
        return Choice("delivery", address={"recipient": customer.name, **saved})
    return None


async def _quote(session: AsyncSession, staff: Staff, customer: CustomerOut, form: OrderForm, choice: Choice) -> Any:
    """The quote endpoint's answer for this cart, customer and delivery or pickup."""
    if choice.store is not None:
        how: dict[str, Any] = {"method": "pickup", "location": choice.store}
    else:
        address = choice.address or {}
        how = {"method": "delivery", "address": {"country": address["country"], "postal_code": address["postal_code"]}}
    body = {
        "currency": get_settings().currency,
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in form.lines.items()],
        "codes": [form.code] if form.code else [],
        "customer": {"id": str(customer.id)},
        "fulfillment": how,
    }
    try:
        request = msgspec.convert(body, QuoteRequest)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"check the order: {exc}", code="invalid_order") from exc
    return await quote_flow.quote(session, ordering_principal(staff), request, None)


@dataclass
class Tenders:
    points: int
    points_amount: int
    card_amount: int


def _tenders(form: OrderForm, total: int, balance: int) -> Tenders | str:
    points_amount = loyalty.points_value(form.points).amount if form.points else 0
    if form.points > balance:
        return f"The customer has {balance} points: use at most that many."
    if points_amount > total:
        return f"{loyalty.points_to_cover(total)} points pay the whole order: use no more."
    return Tenders(form.points, points_amount, total - points_amount)


async def _order_page(
    session: AsyncSession,
    staff: Staff,
    customer_id: uuid.UUID,
    form: OrderForm,
    *,
    results: list[ProductOut] | None = None,
    refusal: str | None = None,
    status: int = 200,
    focus_quote: bool = False,
) -> Template:
    customer = await customers.get_customer(session, customer_id)
    balance = (await loyalty.balance_for_customer(session, customer.id)).points
    choice = _choice(form, customer)
    quote: pricing.Quote | None = None
    tenders: Tenders | None = None
    if isinstance(choice, str):
        refusal, status = refusal or choice, status if refusal else 422
    elif choice is not None and form.lines and refusal is None:
        try:
            quote = await _quote(session, staff, customer, form, choice)
        except Problem as problem:
            refusal, status = problem.detail or problem.title, problem.status
        if quote is not None:
            paid = _tenders(form, quote.result.total, balance)
            tenders, refusal = (paid, None) if isinstance(paid, Tenders) else (None, paid)
    stores = [loc for loc in await inventory.list_locations(session, pickup=True)]
    return page(
        "contact_new_order.html",
        staff,
        status=status,
        customer=customer,
        balance=balance,
        point_value=loyalty.points_value(1),
        form=form,
        names=await variant_names(session, form.lines),
        results=results or [],
        stores=stores,
        quote=quote,
        tenders=tenders,
        refusal=refusal,
        focus_quote=focus_quote and quote is not None and refusal is None,
        idempotency_key=uuid.uuid4().hex,
        money=_money,
    )


@get("/contact/customers/{customer_id:uuid}/new-order", opt=AGENTS)
async def new_order(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, customer_id: uuid.UUID
) -> Template:
    params = request.query_params
    form = _read_form(params)
    results, refusal = await _add(db_session, form, params)
    focus_quote = params.get("step") == "quote"  # "Show the quote" / "Update payment": land on the quote
    return await _order_page(
        db_session,
        staff,
        customer_id,
        form,
        results=results,
        refusal=refusal,
        status=404 if refusal else 200,
        focus_quote=focus_quote,
    )


@post("/contact/customers/{customer_id:uuid}/orders", opt=AGENTS, status_code=200)
async def place(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, customer_id: uuid.UUID) -> Any:
    params = await request.form()
    form = _read_form(params)
    customer = await customers.get_customer(db_session, customer_id)
    choice = _choice(form, customer)
    if not form.lines or not isinstance(choice, Choice):
        refusal = choice if isinstance(choice, str) else "Add an item and choose delivery or pickup first."
        return await _order_page(db_session, staff, customer_id, form, refusal=refusal, status=422)
    quote = await _quote(db_session, staff, customer, form, choice)
    total = quote.result.total
    if whole_number(params.get("total")) != total:
        refusal = f"The price changed while you were talking: the total is now {_money(total, quote.result.currency)}."
        return await _order_page(db_session, staff, customer_id, form, refusal=refusal, status=409)
    balance = (await loyalty.balance_for_customer(db_session, customer.id)).points
    paid = _tenders(form, total, balance)
    if isinstance(paid, str):
        return await _order_page(db_session, staff, customer_id, form, refusal=paid, status=422)
    try:
        data = msgspec.convert(_order_body(customer, form, choice, paid, quote.result.currency), OrderCreate)
    except msgspec.ValidationError as exc:
        return await _order_page(db_session, staff, customer_id, form, refusal=f"Check the order: {exc}", status=422)
    key = _text(params, "idempotency_key", 64) or None
    operation = Operation(key, "POST", request.url.path, msgspec.json.encode(data, order="sorted"))
    maker = request.app.state.sessionmaker
    try:
        placed = await place_order_flow.place_order(maker, operation, ordering_principal(staff), data, None)
    except Problem as problem:
        refusal = f"Not placed: {problem.detail or problem.title}"
        return await _order_page(db_session, staff, customer_id, form, refusal=refusal, status=problem.status)
    content = placed.content
    order_id = content.id if not isinstance(content, bytes) else msgspec.json.decode(content)["id"]
    return Redirect(path=f"/console/contact/orders/{order_id}?placed=1", status_code=303)


def _order_body(customer: CustomerOut, form: OrderForm, choice: Choice, paid: Tenders, currency: str) -> dict[str, Any]:
    tenders: list[dict[str, Any]] = []
    if paid.points_amount:
        tenders.append({"kind": "loyalty_points", "amount": paid.points_amount, "loyalty_card": customer.card_number})
    if paid.card_amount:
        tenders.append({"kind": "card", "amount": paid.card_amount, "card_token": form.card_token})
    return {
        "fulfillment": {"method": "pickup", "location": choice.store}
        if choice.store is not None
        else {"method": "delivery", "address": choice.address},
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in form.lines.items()],
        "codes": [form.code] if form.code else [],
        "customer_id": str(customer.id),
        "currency": currency,
        "tenders": tenders,
    }


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


ROUTES: list[Any] = [new_order, place]
