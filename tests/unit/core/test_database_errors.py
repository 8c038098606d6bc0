"""A PostgreSQL that restarts answers 503 + Retry-After problem documents, never a 500 (seen in
the fleet test: "the database system is shutting down" and asyncpg's broken protocol state)."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy.exc import DBAPIError, InternalError

from app.core.errors import _on_db_error


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class InternalClientError(Exception):
    """Named like asyncpg's: its connection state broke mid-operation."""


@pytest.mark.parametrize(
    ("orig", "wrapper"),
    [
        (DriverError("the database system is shutting down", "57P03"), DBAPIError),
        (DriverError("terminating connection due to administrator command", "57P01"), DBAPIError),
        (DriverError("sorry, too many clients already", "53300"), DBAPIError),
        (DriverError("connection failure", "08006"), DBAPIError),
        (InternalClientError("cannot switch to state 15; another operation (2) is in progress"), InternalError),
    ],
)
def test_a_restarting_database_is_a_503_with_retry_after(orig: Exception, wrapper: type[DBAPIError]) -> None:
    response = _on_db_error(None, wrapper("SELECT 1", {}, orig))  # type: ignore[arg-type]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.media_type == "application/problem+json"
    assert msgspec.to_builtins(response.content)["code"] == "database_unavailable"


def test_other_driver_errors_stay_500() -> None:
    response = _on_db_error(None, DBAPIError("SELECT 1", {}, DriverError("syntax error", "42601")))  # type: ignore[arg-type]
    assert response.status_code == 500
