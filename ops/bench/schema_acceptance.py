"""Does the API accept what its own schema allows? Count, per operation, the schema-valid
(positive) generated requests that are refused as invalid input.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/schema_acceptance.py --examples 20

A request the schema allows that the API then refuses as invalid (400 `validation_error`,
422 `invalid_*`, ...) means a constraint enforced in code that the schema does not state:
clients and fuzzers cannot know it. The run:
1. (re)creates a scratch database `oms_schema_acceptance`, runs `oms demo` into it, starts
   `oms serve` and seeds real things through the API (fuzz.py's seed steps);
2. runs schemathesis with the admin key, positive data only (phases examples, coverage,
   fuzzing), fuzz_hooks' seeded-id swaps plus schema_acceptance_hooks.py, which records each
   answer's status, problem code and the fields it names;
3. prints per operation the positive cases and how many were refused as invalid input (with
   the codes and fields), and the number of operations that refuse at least `--threshold`
   of their schema-valid cases.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from fuzz import BIN, Api, _wait_ready, add_examples, free_port, seed

DB_NAME = "oms_schema_acceptance"
# Answers that say "your input is not valid" (as opposed to 404, 409 state conflicts, unknown
# references to data the caller named): a positive case answered so breaks the schema's word.
VALIDATION_CODES = ("validation_error", "invalid_")


def is_refusal(status: int, code: str) -> bool:
    return status in (400, 422) and code.startswith(VALIDATION_CODES)


def recreate_database(base_url: str) -> str:
    admin = make_url(base_url).set(drivername="postgresql")
    for statement in (f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}"):
        subprocess.run(["psql", admin.render_as_string(hide_password=False), "-qc", statement], check=True)
    return make_url(base_url).set(database=DB_NAME).render_as_string(hide_password=False)


def run_schemathesis(schema_file: Path, base: str, key: str, examples: int, work: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            str(schema_file),
            "--url",
            base,
            "--checks",
            "not_a_server_error",
            "--mode",
            "positive",
            "--max-examples",
            str(examples),
            "--workers",
            "1",
            "--no-color",
            "--phases",
            "examples,coverage,fuzzing",
            "--suppress-health-check",
            "all",
            # NUL is refused in every string (app/core/edge.py, the field named): one rule for
            # all, not a per-field bound, so it is left out of the generated data.
            "--generation-allow-x00",
            "false",
            "--request-timeout",
            "15",
            "--seed",
            "12",
            "-H",
            f"Authorization: Bearer {key}",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=work,
        env=env,
    )
    return result.stdout + result.stderr


def report(answers: Path, threshold: float) -> tuple[str, str, list[str]]:
    cases: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    why: dict[str, Counter[str]] = defaultdict(Counter)
    for line in answers.read_text().split("\n") if answers.exists() else []:
        if line.count("\t") != 3:
            continue
        operation, status, code, fields = line.split("\t")
        cases[operation] += 1
        if is_refusal(int(status), code):
            refused[operation] += 1
            why[operation][f"{code} {fields}".strip()] += 1
    rows = [
        "| operation | positive cases | refused as invalid | most frequent reasons |",
        "| --- | ---: | ---: | --- |",
    ]
    failing = []
    for op in sorted(cases, key=lambda o: (o.split(" ", 1)[1], o)):
        reasons = "; ".join(f"{reason} ×{n}" for reason, n in why[op].most_common(4))
        rows.append(f"| `{op}` | {cases[op]} | {refused[op]} | {reasons} |")
        if refused[op] >= threshold * cases[op]:
            failing.append(op)
    summary = (
        f"operations {len(cases)}, positive cases {sum(cases.values())}, refused as invalid "
        f"{sum(refused.values())}; operations refusing ≥ {threshold:.0%} of their schema-valid cases: {len(failing)}"
    )
    return "\n".join(rows), summary, failing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20, help="generated cases per operation")
    parser.add_argument("--threshold", type=float, default=0.5, help="share of refused cases that counts")
    parser.add_argument("--results", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oms-acceptance-"))
    env = {
        **os.environ,
        "DATABASE_URL": recreate_database(os.environ["DATABASE_URL"]),
        "OMS_DATA_DIR": str(work),
        "OMS_LOG_LEVEL": "ERROR",
        "OMS_OUTBOX_STREAM": "oms:acceptance:events",
        "OMS_QUEUE_NAMESPACE": "oms-acceptance",
    }
    subprocess.run([str(BIN / "oms"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    keys = json.loads((work / "demo-keys.json").read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "oms"), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        _wait_ready(base)
        ids = seed(Api(base, keys))
        schema = httpx.get(f"{base}/schema/openapi.json").json()
        add_examples(schema, ids)
        schema_file = work / "schema.json"
        schema_file.write_text(json.dumps(schema))
        answers = work / "answers.tsv"
        hook_env = {
            **env,
            "PYTHONPATH": str(Path(__file__).parent),
            "SCHEMATHESIS_HOOKS": "schema_acceptance_hooks",
            "OMS_FUZZ_SEEDS": json.dumps(ids),
            "OMS_FUZZ_STATS": str(work / "stats.tsv"),
            "OMS_ACCEPTANCE_ANSWERS": str(answers),
            "OMS_FUZZ_KIND": "allowed",  # fuzz_hooks then writes each refusal's text here:
            "OMS_FUZZ_DETAILS": str(work / "refusals.tsv"),
        }
        output = run_schemathesis(schema_file, base, keys["admin"], args.examples, work, hook_env)
        (work / "schemathesis.out").write_text(output)
        table, summary, failing = report(answers, args.threshold)
        print(table)
        print(summary)
        print("refusing:", ", ".join(failing) or "none")
        # schemathesis' own count of the same thing (its positive-data acceptance warning)
        print(next((line.strip() for line in output.splitlines() if "Schema validation mismatch" in line), ""))
        print(f"wall time {time.monotonic() - started:.0f} s; outputs in {work}")
        if args.results:
            args.results.write_text(summary + "\n\n" + table + "\n")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
