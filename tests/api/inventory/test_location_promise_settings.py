"""A location's delivery-promise settings over the locations API: defaults, updates, validation."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

STORE = {
    "code": "PR-1",
    "name": "Promise",
    "kind": "store",
    "latitude": 48.86,
    "longitude": 2.34,
    "time_zone": "Europe/Paris",
}


async def test_defaults_update_and_validation(api: Api) -> None:
    admin = api.as_("admin")
    created = await admin.post("/v1/locations", json=STORE)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["order_cutoff"], out["handling_hours"], out["transit_days"]) == ("14:00", 2, 2)
    assert (out["shipping_days"], out["transit_days_by_country"]) == ([1, 2, 3, 4, 5, 6], {})
    changed = await admin.patch(
        "/v1/locations/PR-1",
        json={
            "order_cutoff": "17:30",
            "handling_hours": 4,
            "transit_days": 1,
            "transit_days_by_country": {"BE": 2},
            "shipping_days": [5, 1, 2],
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["order_cutoff"] == "17:30"
    assert changed.json()["shipping_days"] == [1, 2, 5]
    assert changed.json()["transit_days_by_country"] == {"BE": 2}
    read = (await admin.get("/v1/locations/PR-1")).json()
    assert (read["handling_hours"], read["transit_days"]) == (4, 1)
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({"shipping_days": []}, 400, "validation_error"),
        ({"shipping_days": [0]}, 400, "validation_error"),
        ({"shipping_days": [1, 1]}, 422, "invalid_promise_settings"),
        ({"handling_hours": -1}, 400, "validation_error"),
        ({"transit_days": 61}, 400, "validation_error"),
        ({"transit_days_by_country": {"fr": 1}}, 400, "validation_error"),
        ({"order_cutoff": "25:00"}, 400, "validation_error"),
        ({"order_cutoff": "14:00:00+02:00"}, 400, "validation_error"),
    ]
    for body, status, code in bad:
        r = await admin.patch("/v1/locations/PR-1", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    assert (await admin.get("/v1/locations/PR-1")).json()["shipping_days"] == [1, 2, 5]  # nothing written
    r = await admin.post("/v1/locations", json={**STORE, "code": "PR-2", "shipping_days": [7, 7]})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_promise_settings")
