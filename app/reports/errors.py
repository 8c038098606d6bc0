"""Problem types of the reports (stable codes)."""

from __future__ import annotations

from app.core.errors import Problem


class InvalidPeriod(Problem):
    """A date that does not parse, `from` after `to`, or a period longer than allowed."""

    status, code, title = 400, "invalid_period", "The report period is not valid"


class UnknownTable(Problem):
    status, code, title = 400, "unknown_report_table", "No such table in this report"


class InvalidLocations(Problem):
    status, code, title = 400, "invalid_locations", "Too many or malformed location codes"
