"""The API reference (`/schema`) written from what the routes declare, so it cannot drift:
each operation's description says what it does (the handler's docstring), who may call it
(its `opt=roles(...)`, the same declaration the guard enforces), the `Idempotency-Key` rule
(from `before_request=key_required`, where the 428 is enforced, or the optional header), and
every problem `code` it answers with an example (its `responses=problem_responses(...)`,
plus the problems every operation shares). Operations are grouped by resource family.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from inspect import cleandoc
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, Tag

from app.core.errors import HTTP_CODES, PROBLEM_MEDIA_TYPE, ProblemDocument, problem_responses
from app.core.idempotency import (
    HEADER,
    IdempotencyInProgress,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    idempotent,
    key_required,
)

OVERVIEW = """\
One backend for every channel of the retailer — web storefront, app, in-store kiosks, contact
center and store tills: one catalog, one price, one stock picture, one order history, one
loyalty card, returns accepted anywhere.

## Authentication
Every `/v1` call sends `Authorization: Bearer <api key>`. A key has a **role** (`admin`,
`merchandiser`, `storefront`, `kiosk`, `contact_center`, `pos`, `logistics`, `integration`)
and, where the role needs it, a channel and a location: a kiosk or POS key acts for its own
store, a logistics key sees its own location's work. Each operation below says which roles
may call it. A storefront acting for a signed-in shopper also sends `X-Customer-Token`.
No key: 401 `unauthorized`; a role the operation does not admit: 403 `forbidden`.

## Idempotency
Every POST that creates something accepts an `Idempotency-Key` header: the same key and body
return the first response; the same key with another body is 422 `idempotency_key_reused`.
Money-moving creates (orders, returns, refunds, exchanges, points and stock adjustments)
**require** it: 428 `idempotency_key_required` without one. Each operation says which rule
applies.

## Errors
Every failure is an RFC 9457 problem document (`application/problem+json`) with a stable
machine-readable `code` (its `type` is `https://oms.dev/problems/<code>`); validation errors
(400 `validation_error`) name each field in `errors[]`, with the `allowed` values of an enum.
Each operation lists the codes it may answer with, one example each. Any operation may also
answer 413 `payload_too_large`, 415 `unsupported_media_type`, 429 `too_many_requests` and 503
(`overloaded`, `database_unavailable`, `contention`, `dependency_unavailable`) with
`Retry-After`: retry those; a body nested deeper than the limit is 400 `json_too_deep`.

## Pagination
Lists are cursor-paginated: `limit` (default 50) and `cursor`; the answer's `next_cursor`
(null on the last page) fetches the next page. A cursor stays valid while new items arrive.

## Money and time
Money is an integer count of minor units with an ISO 4217 currency
(`{"amount": 1999, "currency": "EUR"}`), prices tax-inclusive; timestamps are UTC, ISO 8601.
"""

# Problems any operation may answer, documented once in the overview and not per operation.
SHARED_CODES = frozenset(
    {
        "payload_too_large",
        "unsupported_media_type",
        "too_many_requests",
        "method_not_allowed",
        "overloaded",
        "database_unavailable",
        "contention",
        "dependency_unavailable",
        "unavailable",
        "internal_error",
        "invalid_value",
        "json_too_deep",
    }
)

GENERAL_CODES = frozenset(code for code, _ in HTTP_CODES.values())

# Resource families (the API map of DESIGN.md), by the path's first segment after /v1.
FAMILIES: dict[str, str] = {
    "products": "catalog",
    "variants": "catalog",
    "categories": "catalog",
    "prices": "pricing",
    "price-zones": "pricing",
    "promotions": "pricing",
    "pricing": "pricing",
    "locations": "inventory",
    "stock": "inventory",
    "transfers": "inventory",
    "reservations": "inventory",
    "availability": "inventory",
    "customers": "customers",
    "customer-sessions": "customers",
    "carts": "carts",
    "orders": "orders",
    "returns": "returns",
    "exchanges": "returns",
    "return-policies": "returns",
    "fulfillment-orders": "fulfillment",
    "pick-lists": "fulfillment",
    "bins": "fulfillment",
    "sourcing": "fulfillment",
    "carrier-events": "fulfillment",
    "parcels": "fulfillment",
    "loyalty": "loyalty",
    "events": "integration",
    "webhooks": "integration",
    "reports": "reports",
    "api-keys": "operations",
}
TAG_DESCRIPTIONS: dict[str, str] = {
    "catalog": "Products, their variants (SKUs, barcodes) and categories: one catalog for every channel.",
    "pricing": "Prices by zone, promotions and codes, and the quote: the one price engine of every channel.",
    "inventory": "Locations, stock levels and their ledger, transfers, reservations and availability.",
    "customers": "The single customer record: look-up by e-mail, phone or card, merges, the contact-center view.",
    "carts": "Carts, resumable in any channel.",
    "orders": "Orders of every channel: placement, holds, cancellation, timeline, shipments.",
    "returns": "Returns and exchanges at any store or by post, refunds to the original tenders.",
    "fulfillment": "Sourcing, fulfillment orders, pick lists, ship-from-store, pickups, carriers' events.",
    "loyalty": "Loyalty cards: points available and pending, tiers, the points ledger.",
    "integration": "The ordered event feed and webhooks.",
    "reports": "The channel dashboard's figures.",
    "operations": "Health, readiness, metrics and API keys.",
}


def family(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    if not segments or segments[0] != "v1":
        return "operations"
    return FAMILIES.get(segments[1] if len(segments) > 1 else "", "operations")


def document_routes(app: Litestar) -> None:
    """Give every operation of `app` its description, tag and problem responses. The route
    handlers are the app's own copies (Litestar copies them when it registers them), so this
    writes nothing shared between apps."""
    for path, handler in _handlers(app):
        rule = idempotency_rule(handler)
        shared = _shared_problems(handler, rule)
        handler.responses = {**shared, **_merged(handler.responses or {}, shared)}
        handler.description = describe(handler, rule)
        if handler.summary is None and (first := _first_sentence(handler)):
            handler.summary = first
        if not handler.tags:
            handler.tags = [family(path)]


def _handlers(app: Litestar) -> Iterator[tuple[str, HTTPRouteHandler]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler) and handler.resolve_include_in_schema():
                yield route.path, handler


def who_may_call(handler: HTTPRouteHandler) -> str:
    """The roles line, from the same `opt` the roles guard reads."""
    allowed = handler.opt.get("roles")
    if allowed:
        names = ", ".join(f"`{getattr(role, 'value', role)}`" for role in sorted(allowed, key=str))
        return f"**Who may call:** {names} keys."
    return "**Who may call:** anyone, without a key."


def idempotency_rule(handler: HTTPRouteHandler) -> str | None:
    """`required` where `key_required` runs before the handler (the 428), `optional` where the
    handler declares the header or runs its create through `idempotent(...)` (which reads it),
    else None."""
    if _unwrapped(handler.before_request) is key_required:
        return "required"
    for parameter in handler.parsed_fn_signature.parameters.values():
        if getattr(parameter.kwarg_definition, "header", None) == HEADER:
            return "optional"
    if f"{idempotent.__name__}(" in inspect.getsource(handler.fn):
        return "optional"
    return None


def _unwrapped(hook: Any) -> Any:
    return getattr(hook, "func", None) or getattr(hook, "__wrapped__", None) or hook


IDEMPOTENCY_TEXT = {
    "required": (
        f"**`{HEADER}`: required.** A money-moving create: without the header it answers 428 "
        "`idempotency_key_required`; a retry with the same key and body replays the first answer, "
        "the same key with another body is 422 `idempotency_key_reused`."
    ),
    "optional": (
        f"**`{HEADER}`: optional.** With it, a retry with the same key and body replays the first "
        "answer; the same key with another body is 422 `idempotency_key_reused`."
    ),
}


def describe(handler: HTTPRouteHandler, rule: str | None) -> str:
    parts = [_what_it_does(handler), who_may_call(handler)]
    if rule:
        parts.append(IDEMPOTENCY_TEXT[rule])
    codes = problem_codes(handler)
    if codes:
        rows = "\n".join(f"| {status} | `{code}` | {title} |" for status, code, title in codes)
        parts.append(
            "**Problems it may answer** (`code`; an example of each under Responses):\n\n"
            "| status | code | meaning |\n| --- | --- | --- |\n" + rows
        )
    return "\n\n".join(parts)


def problem_codes(handler: HTTPRouteHandler) -> list[tuple[int, str, str]]:
    """(status, code, title) of every problem the operation documents, from its responses."""
    out: list[tuple[int, str, str]] = []
    for status, spec in sorted((handler.responses or {}).items()):
        if spec.media_type != PROBLEM_MEDIA_TYPE:
            continue
        out.extend((status, example.id or "", example.summary or "") for example in spec.examples or [])
    return out


def _what_it_does(handler: HTTPRouteHandler) -> str:
    if handler.description:
        return handler.description
    doc = cleandoc(handler.fn.__doc__) if handler.fn.__doc__ else ""
    return doc or (handler.summary or "")


def _first_sentence(handler: HTTPRouteHandler) -> str | None:
    doc = cleandoc(handler.fn.__doc__) if handler.fn.__doc__ else ""
    first = re.split(r"(?<=[.:;])\s|\n\n", doc, maxsplit=1)[0].rstrip(".:; ")
    return " ".join(first.split()) or None


def _shared_problems(handler: HTTPRouteHandler, rule: str | None) -> dict[int, ResponseSpec]:
    """What every operation of its kind may answer: 400 `validation_error`, 401/403 for a keyed
    route, the idempotency problems where the header applies."""
    items: list[Any] = [400]
    if handler.opt.get("roles"):
        items += [401, 403]
    if rule:
        items += [IdempotencyKeyReused, InvalidIdempotencyKey, IdempotencyInProgress]
    if rule == "required":
        items.append(IdempotencyKeyRequired)
    specs = problem_responses(*items)
    validation = specs[400]
    validation.examples = [
        Example(
            id="validation_error",
            summary="Request is not valid",
            value={
                "type": "https://oms.dev/problems/validation_error",
                "title": "Request is not valid",
                "status": 400,
                "code": "validation_error",
                "detail": "reason: Invalid enum value 'bored'",
                "errors": [
                    {
                        "field": "reason",
                        "message": "Invalid enum value 'bored'",
                        "source": "body",
                        "allowed": ["no_staff", "item_damaged", "not_found"],
                    }
                ],
            },
        ),
        *[e for e in validation.examples or [] if e.id != "bad_request"],
    ]
    return specs


def _merged(declared: Mapping[int, ResponseSpec], shared: Mapping[int, ResponseSpec]) -> dict[int, ResponseSpec]:
    """The route's declared problem responses with the shared examples of the same status
    added (a route declaring 400 keeps its codes and gains `validation_error`)."""
    out: dict[int, ResponseSpec] = {}
    for status, spec in declared.items():
        extra = shared.get(status)
        if extra is None or spec.media_type != PROBLEM_MEDIA_TYPE:
            out[status] = spec
            continue
        # A bare status's general code (`problem_responses(428)` -> `precondition_required`)
        # says nothing the shared problems of that status do not.
        own = [e for e in spec.examples or [] if e.id not in GENERAL_CODES]
        mine = {e.id for e in own}
        examples = [*(e for e in extra.examples or [] if e.id not in mine), *own]
        codes = " / ".join(f"`{e.id}`" for e in examples)
        out[status] = ResponseSpec(
            data_container=ProblemDocument, description=codes, media_type=PROBLEM_MEDIA_TYPE, examples=examples
        )
    return out


def tags() -> list[Tag]:
    """The resource families, in the order the docs page lists them."""
    return [Tag(name=name, description=text) for name, text in TAG_DESCRIPTIONS.items()]
