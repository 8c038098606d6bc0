"""schemathesis against the live service's own OpenAPI schema: no 5xx, no response that breaks
its own schema. The budget per operation is OMS_SCHEMATHESIS_EXAMPLES (default 25); run it
with a few hundred by hand before a release. One schemathesis worker: with several, hypothesis'
lambda-description cache races across threads and reports its own "Runtime Error"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_DB_URL, make_keys
from tests.support import free_port

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def test_no_server_errors_and_responses_match_schema(
    committed: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with committed() as session:
        keys = await make_keys(session)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "OMS_PORT": str(port), "OMS_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        examples = os.environ.get("OMS_SCHEMATHESIS_EXAMPLES", "25")
        for _attempt in range(3):
            result = subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "run",
                    f"{base}/schema/openapi.json",
                    "--checks",
                    "not_a_server_error,response_schema_conformance",
                    "--max-examples",
                    examples,
                    "--workers",
                    "1",
                    "--no-color",
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--suppress-health-check",
                    "all",
                    "--request-timeout",
                    "10",
                    "-H",
                    f"Authorization: Bearer {keys['admin']}",
                ],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=tmp_path,
            )
            if not _only_interpreter_bug(result.stdout):
                break
        assert result.returncode == 0, _failures_of(result.stdout) + result.stderr[-2000:]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _only_interpreter_bug(output: str) -> bool:
    """CPython 3.11.7's `ast.parse` can raise "AST constructor recursion depth mismatch" inside
    hypothesis' lambda descriptions (a known interpreter bug, not our API). A run whose only
    errors are that one is run again; any real failure or other error still fails the test."""
    return "AST constructor recursion depth mismatch" in output and "FAILURES" not in output


def _failures_of(output: str) -> str:
    """The failure section of schemathesis' report (its warnings come last and would hide it)."""
    start = output.find("FAILURES")
    start = start if start >= 0 else max(output.find("ERRORS"), 0)
    end = output.find("WARNINGS", start)
    return output[start : end if end > start else start + 8000][:8000]
