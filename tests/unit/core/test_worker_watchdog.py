"""`oms worker` notices Dramatiq workers that are gone while Dramatiq itself hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app.cli import workers as cli

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux /proc only")


def test_zombies_do_not_count_as_alive_workers() -> None:
    before = cli._alive_children(os.getpid()) or 0  # other tests' servers may still run
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        # not reaped (no poll/wait): the finished child stays a zombie
        while _state(quick.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(quick.pid) == "Z"
        assert cli._alive_children(os.getpid()) == before + 1  # the sleeper only
    finally:
        quick.wait()
        sleeper.kill()
        sleeper.wait()
    assert cli._alive_children(os.getpid()) == before


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_a_hung_group_is_killed_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in "dramatiq" that should have 2 workers but has none, and hangs.
    group = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    monkeypatch.setattr(cli, "WORKERS_MISSING_GRACE", 0.2)
    try:
        since = cli._watch_workers(group, 2, None)
        assert since is not None and group.poll() is None  # missing: the grace starts
        time.sleep(0.3)
        assert cli._watch_workers(group, 2, since) is None
        assert group.wait(timeout=5) == -9  # killed with its process group
    finally:
        if group.poll() is None:
            group.kill()
