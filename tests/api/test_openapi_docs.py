"""The API reference reads like a reference: every operation has a summary and a
description saying what it does, who may call it (generated from the route's roles), the
`Idempotency-Key` rule where it applies (from where the 428 is enforced), and the problem
codes it may answer — each a real problem code, with an example. (That every code the API
tests observe is declared is checked by tests/api/conftest.py on every API test.)"""

from __future__ import annotations

from typing import Any

from app.core.auth import Role
from app.core.errors import PROBLEM_MEDIA_TYPE, known_codes
from app.core.openapi_docs import TAG_DESCRIPTIONS
from tests.conftest import KEYED_POSTS, Api

METHODS = ("get", "post", "put", "patch", "delete")


async def _schema(api: Api) -> dict[str, Any]:
    r = await api.as_(None).get("/schema/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in schema["paths"].items() for m, op in item.items() if m in METHODS]


async def test_every_operation_says_what_it_does_and_who_may_call(api: Api) -> None:
    schema = await _schema(api)
    ops = _operations(schema)
    assert len(ops) > 100
    for method, path, op in ops:
        name = f"{method.upper()} {path}"
        assert " " in (op.get("summary") or ""), f"{name}: no summary (the handler's name is not one)"
        description = op.get("description") or ""
        assert "**Who may call:**" in description, name
        assert len(description.split("**Who may call:**")[0].strip()) >= 10, f"{name}: says nothing of what it does"
        assert op.get("tags") and set(op["tags"]) <= set(TAG_DESCRIPTIONS), name


async def test_the_roles_line_is_the_routes_own_declaration(api: Api) -> None:
    schema = await _schema(api)
    post_returns = schema["paths"]["/v1/returns"]["post"]["description"]
    roles_line = next(line for line in post_returns.splitlines() if line.startswith("**Who may call:**"))
    named = {r.value for r in Role if f"`{r.value}`" in roles_line}
    assert named == {"admin", "storefront", "kiosk", "contact_center", "pos"}
    health = schema["paths"]["/health"]["get"]["description"]
    assert "anyone, without a key" in health


async def test_the_idempotency_rule_is_stated_where_the_428_is_enforced(api: Api) -> None:
    schema = await _schema(api)
    for method, path, op in _operations(schema):
        required = "**`Idempotency-Key`: required.**" in op["description"]
        assert required == (method == "post" and bool(KEYED_POSTS.match(path))), f"{method} {path}"
        if required:
            assert "idempotency_key_required" in op["responses"]["428"]["content"][PROBLEM_MEDIA_TYPE]["examples"]
    optional = schema["paths"]["/v1/carts"]["post"]["description"]
    assert "**`Idempotency-Key`: optional.**" in optional


async def test_every_declared_code_is_a_real_problem_code_with_an_example(api: Api) -> None:
    schema = await _schema(api)
    known = known_codes()
    for method, path, op in _operations(schema):
        for status, response in op["responses"].items():
            problem = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
            if problem is None:
                continue
            examples = problem["examples"]
            assert examples, f"{method} {path} {status}"
            for code, example in examples.items():
                assert code in known, f"{method} {path}: {code} is no problem code"
                value = example["value"]
                assert (value["code"], value["status"], str(value["status"])) == (code, int(status), status)
                assert f"`{code}`" in op["description"], f"{method} {path}: {code} not in the description"


async def test_the_overview_covers_auth_idempotency_errors_and_pagination(api: Api) -> None:
    schema = await _schema(api)
    overview = schema["info"]["description"]
    for heading in ("## Authentication", "## Idempotency", "## Errors", "## Pagination"):
        assert heading in overview
    assert [t["name"] for t in schema["tags"]] == list(TAG_DESCRIPTIONS)
