"""The console's guards over plain HTTP against the live server: no page without a session,
a picker confined to their location and role, CSRF, the lock after wrong passwords, the
session cookie's flags, and no password in any log or command output."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
from contextlib import closing

import httpx

from app.console.rules import MAX_FAILED_LOGINS, StaffRole
from tests.browser.conftest import PASSWORD, Live, add_staff, place_order

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def sign_in(
    live: Live, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=live.base, timeout=30)
    form = client.get("/console/login")
    token = CSRF.search(form.text)
    assert token is not None, form.text
    answer = client.post(
        "/console/login", data={"_csrf": token.group(1), "email": email, "password": password}, headers=headers
    )
    return client, answer


def csrf_of(client: httpx.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


async def test_no_page_without_a_session(live: Live) -> None:
    with httpx.Client(base_url=live.base, timeout=30) as anonymous:
        pages = ["/console/", "/console/picker", "/console/store", "/console/stock"]
        for path in [*pages, f"/console/picker/pick-lists/{uuid.uuid4()}"]:
            r = anonymous.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), (path, r.status_code)
        r = anonymous.post("/console/picker/pick-lists", data={"location": "WH-NORTH"})
        assert r.status_code == 303
        forged = anonymous.get("/console/", cookies={"oms_console": "not-a-session"})
        assert forged.status_code == 303
        # The console never accepts an API key instead of a session.
        keyed = anonymous.get("/console/stock", headers={"Authorization": f"Bearer {live.keys['admin']}"})
        assert keyed.status_code == 303


async def test_picker_sees_only_their_location_and_role(live: Live) -> None:
    place_order(live, {"TEE-CLASSIC-BLACK-L": 1})  # shipped from WH-SOUTH
    with live.api("admin") as admin:
        south = admin.post("/v1/pick-lists", json={"location_code": "WH-SOUTH"})
    assert south.status_code == 201, south.text
    picker = await add_staff(live, StaffRole.PICKER, "WH-NORTH")
    client, answer = sign_in(live, picker)
    with closing(client):
        assert answer.status_code == 303
        other = client.get(f"/console/picker/pick-lists/{south.json()['id']}")
        assert other.status_code == 404
        assert "TEE-CLASSIC-BLACK-L" not in other.text
        # A manager's location chooser is ignored for a picker: they pick at their own location.
        assert "WH-SOUTH" not in client.get("/console/picker", params={"location": "WH-SOUTH"}).text
        assert client.get("/console/store").status_code == 403
        assert client.get("/console/dashboard").status_code == 403


async def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(live: Live) -> None:
    picker = await add_staff(live, StaffRole.PICKER, "STORE-COLOGNE")
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=picker)
    client, _ = sign_in(live, picker)
    with closing(client):
        for data in ({}, {"_csrf": "forged"}):
            refused = client.post("/console/picker/pick-lists", data=data)
            assert refused.status_code == 403, refused.text
        assert await live.value("SELECT count(*) FROM pick_lists WHERE created_by = :a", a=staff_id) == 0
        token = csrf_of(client, "/console/picker")
        allowed = client.post("/console/picker/pick-lists", data={"_csrf": token})
        assert allowed.status_code == 200 and "Nothing to pick at STORE-COLOGNE" in allowed.text
        counted = {"_csrf": token, "sku": "A\x00", "location": "STORE-COLOGNE", "on_hand": "1"}
        nul = client.post("/console/stock/counts", data=counted)
        assert nul.status_code == 400
        # The header form (htmx sends it) works as well.
        assert client.post("/console/logout", headers={"X-CSRF-Token": token}).status_code == 303
        assert client.get("/console/").status_code == 303  # signed out: the session row is gone
    with httpx.Client(base_url=live.base, timeout=30) as anonymous:
        form = anonymous.get("/console/login")
        assert form.status_code == 200
        no_token = anonymous.post("/console/login", data={"email": picker, "password": PASSWORD})
        assert no_token.status_code == 403


async def test_wrong_passwords_lock_the_account(live: Live) -> None:
    email = await add_staff(live, StaffRole.STORE_ASSOCIATE, "STORE-BERLIN")
    for _ in range(MAX_FAILED_LOGINS):
        client, answer = sign_in(live, email, "Wrong-password-1")
        client.close()
        assert answer.status_code == 401
    client, answer = sign_in(live, email)
    client.close()
    assert answer.status_code == 401 and "locked" in answer.text
    assert await live.value("SELECT locked_until > now() FROM staff_members WHERE email = :e", e=email) is True


async def test_session_cookie_flags_and_stored_hashes(live: Live) -> None:
    email = await add_staff(live, StaffRole.CONTACT_CENTER)
    client, answer = sign_in(live, email)
    client.close()
    cookie = answer.headers["set-cookie"]
    assert answer.headers["cache-control"] == "no-store" and answer.headers["x-frame-options"] == "DENY"
    assert cookie.startswith("oms_console=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    token = cookie.split(";")[0].split("=", 1)[1]
    stored = await live.value(
        "SELECT s.token_hash FROM staff_sessions s JOIN staff_members m ON m.id = s.staff_id WHERE m.email = :e",
        e=email,
    )
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()  # the cookie itself is not stored
    hashed = await live.value("SELECT password_hash FROM staff_members WHERE email = :e", e=email)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    # Behind a TLS-terminating proxy on this host (uvicorn trusts its X-Forwarded-Proto): Secure.
    client, answer = sign_in(live, email, headers={"X-Forwarded-Proto": "https"})
    client.close()
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


async def test_oms_staff_create_and_no_password_in_logs(live: Live) -> None:
    env = {**os.environ, "DATABASE_URL": live.db_url, "OMS_LOG_LEVEL": "DEBUG"}
    secret = f"Typed-{uuid.uuid4().hex}"
    email = f"manager.{uuid.uuid4().hex[:6]}@shop.test"
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "staff", "create", "--email", email, "--role", "manager"],
        input=f"{secret}\n{secret}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr[-2000:]
    assert f"staff {email} (manager) created" in created.stdout
    assert secret not in created.stdout and secret not in created.stderr
    client, answer = sign_in(live, email, secret)
    client.close()
    assert answer.status_code == 303
    sign_in(live, email, secret + "-wrong")[0].close()
    log = live.log.read_text()
    assert "console sign-in refused" in log  # the server does log sign-ins...
    assert secret not in log and PASSWORD not in log  # ...never a password
    assert email not in log


async def test_order_and_parcel_forms_are_guarded_and_a_resent_order_form_places_one_order(live: Live) -> None:
    with live.api("contact_center") as cc:
        created = cc.post("/v1/customers", json={"name": "Guarded Caller", "email": f"g.{uuid.uuid4().hex[:6]}@ex.com"})
    assert created.status_code == 201, created.text
    customer = created.json()["id"]
    new_order = f"/console/contact/customers/{customer}/new-order"
    orders = f"/console/contact/customers/{customer}/orders"
    form = {
        "sku": "SHIRT-OXFORD-BLUE-L",
        "qty": "1",
        "deliver": "store:STORE-MUNICH",  # a pickup nobody else picks there
        "total": "4999",
        "card_token": "tok_visa",
        "idempotency_key": uuid.uuid4().hex,
    }
    picker = await add_staff(live, StaffRole.PICKER, "WH-SOUTH")
    client, _ = sign_in(live, picker)
    with closing(client):
        token = csrf_of(client, "/console/picker")
        assert client.get(new_order).status_code == 403
        assert client.post(orders, data={**form, "_csrf": token}).status_code == 403
        assert client.post("/console/store/parcels/received", data={"_csrf": token, "scan": "1Z1"}).status_code == 403
    count = "SELECT count(*) FROM orders WHERE customer_id = :c"
    assert await live.value(count, c=uuid.UUID(customer)) == 0

    agent = await add_staff(live, StaffRole.CONTACT_CENTER)
    client, _ = sign_in(live, agent)
    with closing(client):
        assert client.post(orders, data=form).status_code == 403  # no CSRF token: nothing placed
        assert await live.value(count, c=uuid.UUID(customer)) == 0
        token = csrf_of(client, new_order)
        first = client.post(orders, data={**form, "_csrf": token})
        again = client.post(orders, data={**form, "_csrf": token})
        assert first.status_code == again.status_code == 303, first.text
        assert first.headers["location"] == again.headers["location"]
        assert await live.value(count, c=uuid.UUID(customer)) == 1
        # The same key with another cart is refused, not a second order.
        other = client.post(orders, data={**form, "_csrf": token, "qty": "2", "total": "9998"})
        assert other.status_code == 422 and "Not placed" in other.text
        assert await live.value(count, c=uuid.UUID(customer)) == 1
