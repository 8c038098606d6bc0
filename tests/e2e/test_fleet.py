"""The fleet under faults (`ops/fleet.py --short`): 3 API processes and 2 workers on a private
PostgreSQL and Redis, a mixed workload, SIGKILLed API and worker processes, a Redis outage
and a PostgreSQL restart; the script checks the invariants and exits non-zero if one fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_fleet_survives_its_faults_and_the_books_balance() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "ops" / "fleet.py"), "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = run.stdout[run.stdout.find("== Fleet run") :]
    assert run.returncode == 0, summary or run.stderr[-4000:]
    assert "RESULT: all invariants hold" in summary
    assert "[FAIL]" not in summary
    for fault in ("SIGKILL API process", "SIGKILL worker", "Redis stopped", "PostgreSQL stopped"):
        assert fault in summary, summary
