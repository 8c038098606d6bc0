"""`oms serve --with-worker` stopped by a process manager (SIGTERM) stops its whole family,
as Ctrl-C does: no worker or Dramatiq process is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc")
def test_serve_with_worker_stops_its_whole_family_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "OMS_DATA_DIR": str(tmp_path), "OMS_LOG_LEVEL": "WARNING"}
    serve = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--with-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    family: set[int] = set()
    try:
        _wait_for(lambda: _healthy(port), 60, "the API")
        # oms worker, its Dramatiq main process and at least one Dramatiq worker process.
        _wait_for(lambda: len(_descendants(serve.pid)) >= 3, 60, "the worker and Dramatiq")
        family = _descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)  # as systemd, Docker or Kubernetes stop it
        serve.wait(timeout=60)
        _wait_for(lambda: not any(_alive(pid) for pid in family), 15, "the family to stop")
    finally:
        for pid in [serve.pid, *family]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not [(pid, _cmdline(pid)) for pid in family if _alive(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
