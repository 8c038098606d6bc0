"""`oms serve | worker | migrate | demo | check | keys ... | staff create | catalog import ... |
stock import ... | reports rebuild | prune`

One module per command (group); importing them registers their commands on `main`.
"""

from __future__ import annotations

from app.cli import (
    api_keys,
    catalog_import,
    history,
    integrity,
    reports_rebuild,
    serving,
    staff_accounts,
    stock_import,
    workers,
)
from app.cli.common import main

__all__ = [
    "api_keys",
    "catalog_import",
    "history",
    "integrity",
    "main",
    "reports_rebuild",
    "serving",
    "staff_accounts",
    "stock_import",
    "workers",
]
