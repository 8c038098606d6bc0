"""Console problem types (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, declare_codes


class StaffExists(Conflict):
    code, title = "staff_exists", "A staff member with this e-mail exists"


class InvalidStaff(InvalidInput):
    code, title = "invalid_staff", "Invalid staff account"


# InvalidInput refined by the console's forms.
declare_codes(
    "location_required", "nothing_chosen", "invalid_return", "invalid_points", "reason_required", "invalid_hold_type"
)
