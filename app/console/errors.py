"""Console problem types (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput


class StaffExists(Conflict):
    code, title = "staff_exists", "A staff member with this e-mail exists"


class InvalidStaff(InvalidInput):
    code, title = "invalid_staff", "Invalid staff account"
