"""Staff sign-in: accounts from the CLI, hashed passwords, lockout, CSRF, sign-out, permissions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.tables import staff_users
from service.services import staff
from service.web import create_app
from tests.helpers import cli_runner, make_config, make_services

from .staff_helpers import ADMIN, SECRET, STAFF, StaffClient, csrf_token, signed_in


def test_pages_need_a_sign_in_and_come_back_after_it(staff_app):
    client = staff_app.test_client()
    response = client.get("/staff/patients?q=x")
    assert response.status_code == 302
    assert "/staff/sign-in?next=/staff/patients" in response.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/staff/today")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/staff/patients?q=x"' in page
    signed = client.post(
        "/staff/sign-in",
        data={
            "email": ADMIN[0],
            "password": ADMIN[1],
            "next": "/staff/patients?q=x",
            "csrf_token": csrf_token(page),
        },
    )
    assert signed.headers["Location"] == "/staff/patients?q=x"


def test_next_cannot_leave_the_staff_pages(staff_app):
    for target in (
        "https://evil.example/",
        "//evil.example",
        "/api/v1/patients",
        "/staff\\..\\x",
        "/staff\r\nX: 1",
    ):
        client = StaffClient(staff_app)
        page = client.get("/staff/sign-in").get_data(as_text=True)
        response = client.client.post(
            "/staff/sign-in",
            data={"email": ADMIN[0], "password": ADMIN[1], "next": target, "csrf_token": csrf_token(page)},
        )
        assert response.headers["Location"] == "/staff/today", target


def test_passwords_are_hashed_and_the_cookie_is_protected(staff_services, staff_app):
    with staff_services.engine.connect() as conn:
        stored = conn.execute(
            select(staff_users.c.password_hash).where(staff_users.c.email == ADMIN[0])
        ).scalar()
    assert ADMIN[1] not in stored and stored.startswith("scrypt:")
    client = StaffClient(staff_app)
    response = client.sign_in(*ADMIN)
    cookie = response.headers["Set-Cookie"]
    assert "interlude_staff=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/staff/today")
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_cookie_is_secure_behind_https(db_url, clock):
    config = make_config(
        db_url,
        extra='[web]\npublic_base_url = "https://clinic.example.com"\n',
        env={"INTERLUDE_SECRET_KEY": SECRET},
    )
    services = make_services(db_url, clock, config=config)
    staff.add_staff(services, *ADMIN, admin=True, actor="test")
    app = create_app(config, services=services)
    response = StaffClient(app).sign_in(*ADMIN)
    assert "Secure" in response.headers["Set-Cookie"]
    services.engine.dispose()


def test_wrong_password_and_unknown_address_get_the_same_answer(staff_app):
    client = StaffClient(staff_app)
    wrong = client.sign_in(ADMIN[0], "not the password")
    unknown = client.sign_in("nobody@clinic.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert client.get("/staff/today").status_code == 302


def test_lockout_after_repeated_failures_then_unlocks(staff_services, staff_app, clock):
    client = StaffClient(staff_app)
    for _ in range(staff.MAX_FAILURES):
        assert client.sign_in(STAFF[0], "guess guess guess").status_code == 401
    assert client.sign_in(*STAFF).status_code == 401  # the right password is refused while locked
    clock.advance(timedelta(minutes=staff.LOCK_MINUTES, seconds=1))
    assert client.sign_in(*STAFF).status_code == 302
    assert staff.list_staff(staff_services)[1]["locked"] is False


def test_a_success_resets_the_failure_count(staff_app):
    client = StaffClient(staff_app)
    for _ in range(staff.MAX_FAILURES - 1):
        client.sign_in(STAFF[0], "guess guess guess")
    assert client.sign_in(*STAFF).status_code == 302
    client = StaffClient(staff_app)
    for _ in range(staff.MAX_FAILURES - 1):
        client.sign_in(STAFF[0], "guess guess guess")
    assert client.sign_in(*STAFF).status_code == 302


def test_a_post_without_the_csrf_token_is_refused(staff_app):
    client = signed_in(staff_app, ADMIN)
    refused = client.post("/staff/sign-out", csrf=False)
    assert refused.status_code == 400 and "expired" in refused.get_data(as_text=True)
    forged = client.post("/staff/sign-out", {"csrf_token": "forged"}, csrf=False)
    assert forged.status_code == 400
    assert client.get("/staff/today").status_code == 200  # still signed in: nothing happened
    # Another browser's valid token does not work with this session either.
    other = signed_in(staff_app, STAFF)
    assert client.post("/staff/sign-out", {"csrf_token": other.token()}, csrf=False).status_code == 400


def test_sign_in_itself_needs_the_token(staff_app):
    client = staff_app.test_client()
    response = client.post("/staff/sign-in", data={"email": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 400


def test_sign_out_ends_the_session_everywhere(staff_app):
    phone = signed_in(staff_app, ADMIN)
    desk = signed_in(staff_app, ADMIN)
    assert phone.post("/staff/sign-out").status_code == 302
    assert phone.get("/staff/today").status_code == 302
    assert desk.get("/staff/today").status_code == 302


def test_a_disabled_account_is_signed_out_at_once(staff_services, staff_app):
    client = signed_in(staff_app, STAFF)
    staff.set_active(staff_services, STAFF[0], False, actor="test")
    assert client.get("/staff/today").status_code == 302
    assert StaffClient(staff_app).sign_in(*STAFF).status_code == 401


def test_staff_pages_are_off_without_a_secret_key(db_url, clock):
    services = make_services(db_url, clock)
    app = create_app(services.config, services=services)
    response = app.test_client().get("/staff/today")
    assert response.status_code == 503
    assert "INTERLUDE_SECRET_KEY" in response.get_data(as_text=True)
    services.engine.dispose()


def test_only_admins_see_the_staff_accounts_page(admin_client, nurse_client):
    assert nurse_client.get("/staff/accounts").status_code == 403
    assert admin_client.get("/staff/accounts").status_code == 200
    assert 'href="/staff/accounts"' in admin_client.get("/staff/today").get_data(as_text=True)
    assert 'href="/staff/accounts"' not in nurse_client.get("/staff/today").get_data(as_text=True)


# --- the command line --------------------------------------------------------------------------


def test_staff_add_prompts_for_the_password(staff_services):
    app = create_app(staff_services.config, services=staff_services)
    runner = cli_runner(app)
    result = runner.invoke(
        args=["staff", "add", "Doc@Clinic.Example", "--admin"], input="long enough pw\nlong enough pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "added doc@clinic.example (admin)" in result.output
    assert "long enough pw" not in result.output
    assert signed_in(app, ("doc@clinic.example", "long enough pw"))
    listing = runner.invoke(args=["staff"])
    assert "doc@clinic.example [admin]" in listing.output and "nurse@clinic.example [staff]" in listing.output


@pytest.mark.parametrize(
    ("args", "typed", "error"),
    [
        (["staff", "add", "not-an-address"], "long enough pw\nlong enough pw\n", "error: email:"),
        (["staff", "add", "new@clinic.example"], "short\nshort\n", "error: password: at least 10"),
        (["staff", "add", ADMIN[0]], "long enough pw\nlong enough pw\n", "exists already"),
        (["staff", "password", "ghost@clinic.example"], "long enough pw\nlong enough pw\n", "not found"),
    ],
)
def test_staff_commands_refuse_bad_input(staff_services, args, typed, error):
    app = create_app(staff_services.config, services=staff_services)
    result = cli_runner(app).invoke(args=args, input=typed)
    assert result.exit_code == 2
    assert error in result.output
    assert len(staff.list_staff(staff_services)) == 2


def test_staff_password_unlocks_and_signs_out(staff_services, staff_app):
    client = signed_in(staff_app, STAFF)
    runner = cli_runner(staff_app)
    result = runner.invoke(
        args=["staff", "password", STAFF[0]], input="brand new password\nbrand new password\n"
    )
    assert result.exit_code == 0, result.output
    assert client.get("/staff/today").status_code == 302
    assert signed_in(staff_app, (STAFF[0], "brand new password"))


# --- the accounts page -------------------------------------------------------------------------


def test_admin_adds_an_account_and_errors_show_by_the_field(staff_services, admin_client, staff_app):
    bad = admin_client.post("/staff/accounts", {"email": "not-an-address", "password": "short"})
    assert bad.status_code == 303  # Post/Redirect/Get: a reload never sends it again
    html = admin_client.get(bad.headers["Location"]).get_data(as_text=True)
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'id="error-summary"' in html and 'href="#email"' in html and 'href="#password"' in html
    assert 'value="not-an-address"' in html and "short" not in html  # the password is never kept
    assert len(staff.list_staff(staff_services)) == 2
    ok = admin_client.post("/staff/accounts", {"email": "desk@clinic.example", "password": "desk password 1"})
    assert ok.status_code == 302
    assert signed_in(staff_app, ("desk@clinic.example", "desk password 1"))
    again = admin_client.post(
        "/staff/accounts", {"email": "desk@clinic.example", "password": "desk password 1"}
    )
    assert again.status_code == 303
    assert "exists already" in admin_client.get(again.headers["Location"]).get_data(as_text=True)


def test_staff_cannot_add_or_disable_accounts(staff_services, nurse_client):
    assert (
        nurse_client.post(
            "/staff/accounts", {"email": "x@clinic.example", "password": "long enough pw"}
        ).status_code
        == 403
    )
    admin_id = next(a["id"] for a in staff.list_staff(staff_services) if a["admin"])
    assert nurse_client.post(f"/staff/accounts/{admin_id}/active", {"active": "0"}).status_code == 403
    assert len(staff.list_staff(staff_services)) == 2
    assert all(a["active"] for a in staff.list_staff(staff_services))


def test_admin_disables_and_enables_an_account(staff_services, admin_client, staff_app):
    nurse = signed_in(staff_app, STAFF)
    nurse_id = next(a["id"] for a in staff.list_staff(staff_services) if not a["admin"])
    assert admin_client.post(f"/staff/accounts/{nurse_id}/active", {"active": "0"}).status_code == 302
    assert nurse.get("/staff/today").status_code == 302
    assert admin_client.post(f"/staff/accounts/{nurse_id}/active", {"active": "1"}).status_code == 302
    assert signed_in(staff_app, STAFF)
    assert admin_client.post("/staff/accounts/999999/active", {"active": "0"}).status_code == 404


def test_everyone_changes_their_own_password(nurse_client, staff_app):
    wrong = nurse_client.post(
        "/staff/account/password",
        {
            "current_password": "nope",
            "new_password": "a new passphrase",
            "confirm_password": "a new passphrase",
        },
    )
    assert wrong.status_code == 303
    refused = nurse_client.get(wrong.headers["Location"]).get_data(as_text=True)
    assert 'id="current_password-error"' in refused and 'href="#current_password"' in refused
    mismatch = nurse_client.post(
        "/staff/account/password",
        {"current_password": STAFF[1], "new_password": "a new passphrase", "confirm_password": "another"},
    )
    assert mismatch.status_code == 303
    refused = nurse_client.get(mismatch.headers["Location"]).get_data(as_text=True)
    assert 'id="confirm_password-error"' in refused
    done = nurse_client.post(
        "/staff/account/password",
        {
            "current_password": STAFF[1],
            "new_password": "a new passphrase",
            "confirm_password": "a new passphrase",
        },
    )
    assert done.status_code == 302
    assert nurse_client.get("/staff/today").status_code == 302
    assert StaffClient(staff_app).sign_in(*STAFF).status_code == 401
    assert signed_in(staff_app, (STAFF[0], "a new passphrase"))


@pytest.mark.parametrize("guesses", [8, 4])
def test_concurrent_wrong_guesses_count_exactly(staff_services, guesses):
    """Guesses racing each other are each counted once, and none counts past the lock."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from service.db.tables import audit_events

    def guess(_: int) -> None:
        with pytest.raises(staff.SignInRefused):
            staff.sign_in(staff_services, STAFF[0], "guess guess guess")

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        list(pool.map(guess, range(guesses)))
    with staff_services.engine.connect() as conn:
        locks = conn.execute(
            select(func.count()).select_from(audit_events).where(audit_events.c.action == "staff.locked")
        ).scalar_one()
    if guesses >= staff.MAX_FAILURES:
        assert locks == 1
        with pytest.raises(staff.SignInRefused):  # locked: the right password is refused too
            staff.sign_in(staff_services, *STAFF)
    else:
        assert locks == 0
        assert staff.sign_in(staff_services, *STAFF).email == STAFF[0]


def test_a_sign_in_lasts_twelve_hours_however_busy(staff_app, clock):
    client = signed_in(staff_app, STAFF)
    for _ in range(5):  # busy all day: every page re-signs the cookie
        clock.advance(timedelta(hours=2, minutes=20))
        assert client.get("/staff/today").status_code == 200
    clock.advance(timedelta(hours=1))  # 12 h 40 min after signing in
    response = client.get("/staff/today")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_a_flood_of_sign_ins_is_slowed_per_address_and_per_client(staff_app):
    from service.web.staff import SIGN_INS_PER_ADDRESS, SIGN_INS_PER_CLIENT

    per_address = int(SIGN_INS_PER_ADDRESS.split("/")[0])
    per_client = int(SIGN_INS_PER_CLIENT.split("/")[0])
    client = StaffClient(staff_app)
    codes = [
        client.sign_in("nobody@clinic.example", "wrong password").status_code for _ in range(per_address + 1)
    ]
    assert codes[:per_address] == [401] * per_address and codes[-1] == 429
    assert "Too many sign-in attempts" in client.sign_in("nobody@clinic.example", "x").get_data(as_text=True)
    others = [
        client.sign_in(f"guess{i}@clinic.example", "wrong password").status_code for i in range(per_client)
    ]
    assert 429 in others  # many addresses from one client: slowed too
    assert (
        StaffClient(staff_app).client.get("/staff/sign-in").status_code == 200
    )  # the page itself is not limited


@pytest.mark.parametrize("path", ["/staff/patients/99999999999999999999", "/staff/patients/\u00b2"])
def test_an_id_no_database_could_hold_is_not_found(admin_client, path):
    assert admin_client.get(path).status_code == 404
