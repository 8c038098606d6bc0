"""schemathesis hooks for ops/bench/schema_acceptance.py: fuzz_hooks' seeded-id swaps, plus one
line per answer in OMS_ACCEPTANCE_ANSWERS: operation, status, problem code, the fields it names."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import fuzz_hooks  # noqa: F401  (registers the seeded-id swaps and fuzz.py's stats line)
import schemathesis

ANSWERS = os.environ.get("OMS_ACCEPTANCE_ANSWERS", "acceptance.tsv")


def _problem(text: str) -> tuple[str, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    fields = [str(e.get("field", "")) for e in body.get("errors") or [] if isinstance(e, dict)]
    extra = body.get("extra") or {}
    if isinstance(extra, dict) and extra.get("field"):
        fields.append(str(extra["field"]))
    # `lines[3].sku` → `lines[].sku`; a generated dict key named as a field stays on one line
    fields = [re.sub(r"\[\d+\]", "[]", re.sub(r"\s", " ", f))[:60] for f in fields]
    return str(body.get("code", "")), ",".join(sorted(set(fields)))


@schemathesis.hook("after_call")
def record_answer(ctx: Any, case: Any, response: Any) -> None:
    code, fields = _problem(response.text) if response.status_code >= 400 else ("", "")
    with open(ANSWERS, "a") as out:
        out.write(f"{case.operation.label}\t{response.status_code}\t{code}\t{fields}\n")
