"""What every request must be before a handler sees it (the app's `before_request` hook).

- No NUL character in a query or path parameter, nor in any string of a JSON body
  (PostgreSQL cannot store one): 400 naming the field.
- A route that takes a JSON body gets JSON: a body sent as another media type, or with none,
  is 415 `unsupported_media_type`.
- JSON nested deeper than `MAX_JSON_DEPTH` is 400 `json_too_deep` (it would exhaust the
  decoder's recursion otherwise).
- Bodies are decoded *strictly*: a number sent as a string (`"quantity": "1"`) or a boolean
  as `"true"` is refused, where Litestar's own conversion would coerce it. Errors name the
  field, and an enum error lists the allowed values.

Body size is bounded by Litestar itself (`request_max_body_size` = `OMS_MAX_BODY_BYTES`): a
Content-Length over the limit is refused before reading, a chunked body as soon as it grows past it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg

from app.core.errors import Problem
from app.core.schema import NAME_PATTERN, allowed_values, error_path

MAX_JSON_DEPTH = 32
_NUL = "\x00"
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `([^`]+)`$")


class UnsupportedMediaType(Problem):
    status, code, title = 415, "unsupported_media_type", "Send the body as application/json"


class JsonTooDeep(Problem):
    status, code, title = 400, "json_too_deep", "JSON nested too deeply"


def invalid(field: str, message: str, source: str, **more: Any) -> ValidationException:
    """A 400 validation_error naming one field, the shape Litestar's own validation uses."""
    return ValidationException(
        detail="Validation failed", extra=[{"key": field, "message": message, "source": source, **more}]
    )


async def check_request(request: Request[Any, Any, Any]) -> None:
    for source, params in (("query", request.query_params.multi_items()), ("path", request.path_params.items())):
        for name, value in params:
            if isinstance(value, str) and _NUL in value:
                raise invalid(name, "must not contain a NUL character", source)
    annotation = _json_body_of(request)
    if annotation is None:
        return
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    is_json = media_type == RequestEncodingType.JSON.value or media_type.endswith("+json")
    if media_type and not is_json:  # refused before the body is read
        raise UnsupportedMediaType("this endpoint takes a body of type application/json")
    body = await request.body()
    if not body:
        return
    if not is_json:
        raise UnsupportedMediaType("this endpoint takes a body of type application/json; the body sent has no type")
    _check_depth(body)
    _decode_strictly(request, annotation, body)
    if b"\\u0000" in body:
        path = _nul_path(msgspec.json.decode(body), "")
        if path is not None:
            raise invalid(path, "must not contain a NUL character", "body")


def _json_body_of(request: Request[Any, Any, Any]) -> Any:
    """The type of the route's JSON body, or None if it takes none (or takes a form)."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return None
    return data.annotation


def _check_depth(body: bytes) -> None:
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return  # cannot be nested deeper than it has brackets
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            raise JsonTooDeep(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")


_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decode_strictly(request: Request[Any, Any, Any], annotation: Any, body: bytes) -> None:
    handler = request.route_handler
    decoder = _DECODERS.get(handler)
    if decoder is None:
        decoder = _DECODERS[handler] = msgspec.json.Decoder(annotation, strict=True)
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, path = error_path(str(exc))
        if named := _NAMED_FIELD.match(message):  # "Object missing required field `reason`"
            path = f"{path}.{named.group(1)}".lstrip(".")
        if repr(NAME_PATTERN) in message:
            message = "must have a visible character and no control characters"
        # An enum's value, or a tagged union's tag ("Invalid value 'x' - at `$.fulfillment.method`").
        named_values = message.startswith(("Invalid enum value", "Invalid value"))
        allowed = allowed_values(annotation, path) if named_values else None
        if allowed is not None:
            raise invalid(
                path or "body", f"{message}; allowed: {', '.join(map(str, allowed))}", "body", allowed=allowed
            ) from None
        raise invalid(path or "body", message, "body") from None
    except msgspec.DecodeError as exc:
        raise invalid("body", f"not valid JSON ({exc})", "body") from None
    except RecursionError:
        raise JsonTooDeep("the body is nested too deeply") from None


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path or "body" if _NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _NUL in key:
                return f"{path}.{key!r}".lstrip(".")
            found = _nul_path(item, f"{path}.{key}".lstrip("."))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None
