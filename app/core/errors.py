"""RFC 9457 problem details: every failure leaves the service as one, with a stable code."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.schema import allowed_values
from app.core.settings import get_settings

log = logging.getLogger("oms.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://oms.dev/problems/"


_CODE_SHAPE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Every problem `code` the service can answer: the class codes of all Problem subclasses
# (registered as they are defined) and the codes declared with `declare_codes` for the
# `code=` override. Nothing a caller sends ever becomes a code.
_KNOWN_CODES: set[str] = set()
# The statuses each code is answered with and its title: what a route declaring the code by
# name documents (`problem_responses("unknown_line")`).
_CODE_STATUSES: dict[str, set[int]] = {}
_CODE_TITLES: dict[str, str] = {}


def declare_codes(*codes: str, status: int = 422, title: str | None = None) -> None:
    """Codes a module passes as `Problem(..., code="...")` to refine a general class, and the
    status they are answered with (most refine InvalidInput: 422)."""
    for code in codes:
        if not _CODE_SHAPE.match(code):
            raise ValueError(f"problem code {code!r} is not a snake_case identifier")
        _KNOWN_CODES.add(code)
        _CODE_STATUSES.setdefault(code, set()).add(status)
        _CODE_TITLES.setdefault(code, title or code.replace("_", " ").capitalize())


def known_codes() -> frozenset[str]:
    return frozenset(_KNOWN_CODES)


class Problem(Exception):
    """A failure the client can act on. Raise it (or a domain subclass) from anywhere.

    `code=` may refine the class's code only with a declared code (`declare_codes`); any
    other value is data, not an identity: it goes to `extra["code"]` and the class's code
    stays (so a shopper's promotion code can never become the problem's code or type URL)."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # The declared codes this class may answer with instead of its own (`code=`), documented
    # wherever a route declares the class (e.g. returns' NotEligible: the line's reason).
    refines: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declare_codes(cls.code, status=cls.status, title=cls.title)
        declare_codes(*cls.refines, status=cls.status)

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title or self.title)
        if status is not None:
            self.status = status
        if code is not None and code in _KNOWN_CODES:
            self.code = code
        elif code is not None:
            extra = {"code": code, **extra}
        if title is not None:
            self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


declare_codes(Problem.code, "validation_error", "invalid_value", "http_error", status=400)
declare_codes("conflict", status=409)
declare_codes("internal_error", status=500)
declare_codes("overloaded", "database_unavailable", "contention", "dependency_unavailable", status=503)


class NotFound(Problem):
    status, code, title = 404, "not_found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class InvalidInput(Problem):
    status, code, title = 422, "invalid_input", "Invalid input"


class InvalidTransition(Problem):
    status, code, title = 409, "invalid_transition", "Transition not allowed"


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """The body of every error response (RFC 9457) plus our stable `code`."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    extra: dict[str, Any] | None = None


def problem_response(
    request: Request[Any, Any, Any] | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ProblemDocument]:
    request_id = None
    instance = None
    if request is not None:
        request_id = request.scope.get("state", {}).get("request_id")
        instance = request.url.path
    body = ProblemDocument(
        type=PROBLEM_BASE + code,
        title=title,
        status=status,
        code=code,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=errors,
        extra=extra or None,
    )
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[ProblemDocument]:
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=exc.headers,
    )


_MISSING = re.compile(r"^Missing required (\w+) parameter '([^']+)'")


def _field_of(item: dict[str, Any]) -> str:
    key = item.get("key")
    message = str(item.get("message", ""))
    if key:
        return str(key)
    # msgspec says "... - at `$.lines[0].quantity`": keep the path, it names the field.
    if "at `$." in message:
        return message.rsplit("at `$.", 1)[1].rstrip("`")
    return "body"


def _error_of(request: Request[Any, Any, Any], item: dict[str, Any]) -> dict[str, Any]:
    message = str(item.get("message", ""))
    error = {"field": _field_of(item), "message": message, "source": item.get("source")}
    if missing := _MISSING.match(message):
        # Litestar reports these against the body, with the caller's path and query in the text.
        source, name = missing.groups()
        error.update(field=name, source=source, message=f"missing required {source} parameter")
    elif "allowed" in item:
        error["allowed"] = item["allowed"]
    elif message.startswith("Invalid enum value") and error["source"] in ("query", "path", "header", "cookie"):
        allowed = _allowed_for_parameter(request, str(error["field"]))
        if allowed is not None:
            error.update(message=f"{message}; allowed: {', '.join(map(str, allowed))}", allowed=allowed)
    return error


def _allowed_for_parameter(request: Request[Any, Any, Any], name: str) -> list[Any] | None:
    try:
        parameter = request.route_handler.parsed_fn_signature.parameters.get(name)
    except (AttributeError, KeyError):
        return None
    if parameter is None:
        return None
    try:
        return allowed_values(parameter.annotation, "")
    except (TypeError, ValueError):
        return None


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[ProblemDocument]:
    raw = exc.extra if isinstance(exc.extra, list) else []
    errors = [_error_of(request, item) for item in raw if isinstance(item, dict)]
    if not errors:
        errors = [_error_of(request, {"message": str(exc.detail)})]
    return problem_response(
        request,
        status=400,
        code="validation_error",
        title="Request is not valid",
        detail="; ".join(f"{e['field']}: {e['message']}" for e in errors),
        errors=errors,
    )


def _bad_path_parameter(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The routing 404 of a path parameter that does not parse (`/orders/not-a-uuid`): which one."""
    path = request.scope.get("path", "")
    for route in request.app.routes:
        definitions = list(getattr(route, "path_parameters", {}).values())
        if not definitions:
            continue
        pattern = re.escape(route.path)
        for definition in definitions:
            pattern = pattern.replace(re.escape("{" + definition.full + "}"), f"(?P<{definition.name}>[^/]+)")
        match = re.fullmatch(pattern, path)
        if match is None:
            continue
        for definition in definitions:
            try:
                if definition.parser:
                    definition.parser(match.group(definition.name))
            except ValueError:
                kind = getattr(definition.type, "__name__", str(definition.type))
                return {"field": definition.name, "message": f"not a valid {kind}", "source": "path"}
    return None


HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("unprocessable", "Request cannot be processed"),
    428: ("precondition_required", "Precondition required"),
    429: ("too_many_requests", "Too many requests"),
    503: ("unavailable", "Service temporarily unavailable"),
}
for _status, (_code, _title) in HTTP_CODES.items():
    declare_codes(_code, status=_status, title=_title)


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ProblemDocument]:
    if exc.status_code >= 500:
        return _on_unexpected(request, exc)
    if exc.status_code == 404 and isinstance(exc.__cause__, ValueError):
        bad = _bad_path_parameter(request)
        if bad is not None:
            return problem_response(
                request,
                status=400,
                code="validation_error",
                title="Request is not valid",
                detail=f"{bad['field']}: {bad['message']}",
                errors=[bad],
            )
    code, title = HTTP_CODES.get(exc.status_code, ("http_error", "Request failed"))
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="oms"')
    detail = exc.detail if exc.detail and exc.detail != title else None
    return problem_response(request, status=exc.status_code, code=code, title=title, detail=detail, headers=headers)


def _unavailable(request: Request[Any, Any, Any], code: str, detail: str) -> Response[ProblemDocument]:
    retry = str(get_settings().retry_after_seconds)
    return problem_response(
        request,
        status=503,
        code=code,
        title="Service temporarily unavailable",
        detail=detail,
        headers={"Retry-After": retry},
    )


def _on_db_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDocument]:
    if isinstance(exc, PoolTimeout):
        return _unavailable(request, "overloaded", "all database connections are busy; retry shortly")
    if isinstance(exc, IntegrityError):
        log.warning("integrity error reached the edge: %s", type(exc.orig).__name__)
        return problem_response(
            request, status=409, code="conflict", title="Conflict", detail="the change conflicts with existing data"
        )
    if isinstance(exc, OperationalError | InterfaceError) or _is_connection_error(exc) or _server_going(exc):
        return _unavailable(request, "database_unavailable", "the database is unreachable; retry shortly")
    if isinstance(exc, DBAPIError) and _sqlstate(exc).startswith("22"):  # data exception
        return problem_response(request, status=400, code="invalid_value", title="Value out of range")
    if isinstance(exc, DBAPIError) and _sqlstate(exc) in {"40001", "40P01", "55P03", "57014"}:
        return _unavailable(request, "contention", "the request lost a race for a busy row; retry it")
    return _on_unexpected(request, exc)


def _sqlstate(exc: DBAPIError) -> str:
    orig = exc.orig
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


# SQLSTATEs of a server that is going away or not back yet: connection exceptions (08),
# admin/crash shutdown, "the database system is starting up / shutting down", too many connections.
_SERVER_GOING = ("08", "57P01", "57P02", "57P03", "53300")


def _server_going(exc: Exception) -> bool:
    """PostgreSQL restarting, or a connection it broke mid-statement: asyncpg then reports its
    own protocol state as broken (InternalClientError, "another operation is in progress")."""
    if not isinstance(exc, DBAPIError):
        return False
    return (
        exc.connection_invalidated
        or _sqlstate(exc).startswith(_SERVER_GOING)
        or type(exc.orig).__name__ == "InternalClientError"
    )


def _is_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("connection", "cannotconnectnow", "connectiondoesnotexist"))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDocument]:
    if isinstance(exc, OSError | ConnectionError) or _is_connection_error(exc):
        return _unavailable(request, "dependency_unavailable", "a backing service is unreachable")
    log.error("unhandled error", exc_info=exc)
    return problem_response(request, status=500, code="internal_error", title="Internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: _on_problem,
    ValidationException: _on_validation,
    NotAuthorizedException: _on_http,
    PermissionDeniedException: _on_http,
    HTTPException: _on_http,
    PoolTimeout: _on_db_error,
    DBAPIError: _on_db_error,
    Exception: _on_unexpected,
}


class Refined:
    """A general problem class answering with a declared, more precise code
    (`InvalidInput(..., code="unknown_line")`): `refined(InvalidInput, "unknown_line")`."""

    def __init__(self, problem: type[Problem], code: str) -> None:
        if code not in _KNOWN_CODES:
            raise ValueError(f"{code!r} is not a declared problem code (declare_codes)")
        self.problem, self.code = problem, code


def refined(problem: type[Problem], code: str) -> Refined:
    return Refined(problem, code)


ProblemDeclaration = int | str | type[Problem] | Refined


def declared_codes(*items: ProblemDeclaration) -> dict[int, dict[str, str]]:
    """{status: {code: title}} of a route's declared problems: a code by name (at every status
    it is answered with), a Problem class (its code and the codes it refines to, `refines`), a
    `refined(Class, code)`, or a bare status (its general code, unless the route names codes
    of that status)."""
    named: dict[int, dict[str, str]] = {}
    general: dict[int, dict[str, str]] = {}
    for item in items:
        if isinstance(item, int):
            code, title = HTTP_CODES.get(item, ("http_error", "Request failed"))
            general.setdefault(item, {})[code] = title
        elif isinstance(item, str):
            if item not in _KNOWN_CODES:
                raise ValueError(f"{item!r} is not a problem code")
            for status in _CODE_STATUSES[item]:
                named.setdefault(status, {})[item] = _CODE_TITLES[item]
        elif isinstance(item, Refined):
            named.setdefault(item.problem.status, {})[item.code] = _CODE_TITLES[item.code]
        else:
            for code in (item.code, *item.refines):
                named.setdefault(item.status, {})[code] = item.title if code == item.code else _CODE_TITLES[code]
    return {status: named.get(status) or general[status] for status in sorted({*named, *general})}


def problem_responses(*items: ProblemDeclaration) -> dict[int, ResponseSpec]:
    """OpenAPI entries for a route's error responses, one example problem document per code:
    `responses=problem_responses(OrderNotFound, NotEligible, refined(InvalidInput, "unknown_line"))`
    (a bare status, `problem_responses(404)`, documents its general code)."""
    return {
        status: ResponseSpec(
            data_container=ProblemDocument,
            description=" / ".join(f"`{code}`" for code in codes) or "Error",
            media_type=PROBLEM_MEDIA_TYPE,
            examples=[
                Example(id=code, summary=title, value=example_problem(status, code, title))
                for code, title in codes.items()
            ],
        )
        for status, codes in sorted(declared_codes(*items).items())
    }


def example_problem(status: int, code: str, title: str) -> dict[str, Any]:
    return {"type": PROBLEM_BASE + code, "title": title, "status": status, "code": code, "detail": title}
