"""Derived secrets: nothing secret is stored in the database.

A webhook's signing secret is HMAC(master key, purpose + id), recomputed when needed, so a
database dump leaks no secret. The master key is `OMS_SECRET_KEY`; without it (development),
one is generated once into `<data dir>/secret.key` and shared by every local process.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from app.core.settings import get_settings


@lru_cache(maxsize=1)
def master_key() -> bytes:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        # Several processes may start at once: each writes its own candidate, and linking it
        # into place is atomic, so all of them read the first one and none reads a half-written file.
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip().encode()


def derive(purpose: str, identifier: str) -> bytes:
    return hmac.new(master_key(), f"{purpose}:{identifier}".encode(), hashlib.sha256).digest()
