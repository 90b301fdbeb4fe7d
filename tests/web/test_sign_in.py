"""Sign-in by emailed link, server-side sessions, sign-out and the sessions page (issue 10)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.settings import load_settings
from engine import signin
from engine.services import Services
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, PANEL
from tests.smtpd import SmtpServer
from tests.web.conftest import SECRET, SEPT, Clock, csrf_of, row_counts, sign_in
from web import create_app

STRANGER = "stranger@elsewhere.example"


def ask(client: TestClient, email: str, **extra: str) -> httpx.Response:
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"email": email, "csrf_token": csrf_of(page.text), **extra})


def deliver(services: Services, smtp: SmtpServer, when: dt.datetime) -> list[str]:
    """Send what the outbox holds; the sign-in links in the emails that arrived."""
    mail = load_settings(
        data_dir=services.data_dir,
        secret_key=SECRET,
        base_url="http://testserver",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
    ).mail()
    dispatch(services, mail, Templates(), when, owner="test")
    links = []
    for m in smtp.messages:
        if m["X-Signoff-Kind"] == "sign_in":
            text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            links += re.findall(r"http://testserver(/sign-in/[A-Za-z0-9_-]{43})", text)
    return links


def outbox_kinds(services: Services) -> list[tuple[str, str]]:
    with services.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT kind, recipient FROM outbox"))]


def test_signing_in_by_email_from_asking_to_the_home_page(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    asked = ask(client, " Panel.Member@southend-lscb.example.org ")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/sign-in/check-email"
    assert "Check your email" in client.get("/sign-in/check-email").text
    [link] = deliver(demo, smtp, clock.now)
    page = client.get(link)
    assert page.status_code == 200
    assert PANEL in page.text
    assert "signoff_session" not in client.cookies  # opening the link signs nobody in
    done = client.post(link, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "What you can do" in home.text
    assert f"signed in as {PANEL}" in home.text


def test_only_the_hash_of_the_link_and_of_the_session_is_stored(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    ask(client, PANEL)
    [link] = deliver(demo, smtp, clock.now)
    token = link.rsplit("/", 1)[1]
    page = client.get(link)
    client.post(link, data={"csrf_token": csrf_of(page.text)})
    session_id = client.cookies["signoff_session"]
    with demo.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM sign_in_link")).scalar_one()
        session_hash = conn.execute(sa.text("SELECT id_hash FROM staff_session")).scalar_one()
        everything = " ".join(
            str(row)
            for table in ("sign_in_link", "staff_session", "outbox")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert session_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert token not in everything
    assert session_id not in everything


def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client: TestClient, demo: Services
) -> None:
    known = ask(client, PANEL)
    unknown = ask(client, STRANGER)
    assert (unknown.status_code, unknown.headers["location"]) == (
        known.status_code,
        known.headers["location"],
    )
    assert unknown.text == known.text
    assert outbox_kinds(demo) == [("sign_in", PANEL)]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your email address"),
        ("   ", "Enter your email address"),
        ("panel.member", "Enter an email address in the correct format, like name@example.com"),
        ("a@b@c.example", "Enter an email address in the correct format, like name@example.com"),
        ("x" * 400 + "@a.example", "Enter an email address in the correct format"),
        ("panel@exa mple.org", "Enter an email address in the correct format"),
        ("panel@example.org\r\nBcc: x@y.example", "Enter an email address in the correct format"),
    ],
    ids=["empty", "spaces", "no_at", "two_ats", "too_long", "space", "header_injection"],
)
def test_a_bad_address_is_shown_with_the_error_summary_and_kept(
    client: TestClient, demo: Services, typed: str, message: str
) -> None:
    before = row_counts(demo)
    response = ask(client, typed)
    assert response.status_code == 422
    assert "There is a problem" in response.text  # the error summary
    assert response.text.count(message) == 2  # in the summary and beside the field
    assert 'href="#email"' in response.text
    assert "<title>Error: Sign in" in response.text
    if typed.strip() and "\r" not in typed:
        assert f'value="{typed.strip()}"' in response.text
    assert row_counts(demo) == before


def test_asking_without_the_form_token_changes_nothing(client: TestClient, demo: Services) -> None:
    before = row_counts(demo)
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": PANEL})
    assert response.status_code == 422
    assert "timed out" in response.text
    assert f'value="{PANEL}"' in response.text
    assert row_counts(demo) == before


def test_a_link_works_once(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    ask(client, PANEL)
    [link] = deliver(demo, smtp, clock.now)
    for _ in range(3):  # mail scanners and previews open it as often as they like
        page = client.get(link)
        assert page.status_code == 200
    assert client.post(link, data={"csrf_token": csrf_of(page.text)}).status_code == 303
    client.cookies.clear()
    assert client.get(link).status_code == 404
    page = client.get("/sign-in")
    assert client.post(link, data={"csrf_token": csrf_of(page.text)}).status_code == 404


def test_a_link_works_for_15_minutes(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    ask(client, PANEL)
    [link] = deliver(demo, smtp, clock.now)
    page = client.get(link)
    clock.now += dt.timedelta(minutes=15)
    assert client.get(link).status_code == 404
    assert client.post(link, data={"csrf_token": csrf_of(page.text)}).status_code == 404


def test_using_a_link_needs_the_form_token(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    ask(client, PANEL)
    [link] = deliver(demo, smtp, clock.now)
    client.get(link)
    assert client.post(link, data={}).status_code == 404
    assert "signoff_session" not in client.cookies
    page = client.get(link)  # still unused
    assert client.post(link, data={"csrf_token": csrf_of(page.text)}).status_code == 303


@pytest.mark.parametrize(
    "token",
    ["x", "A" * 43, "A" * 500, "%00", "..%2f..%2fetc", "' OR 1=1 --"],
    ids=["short", "guessed", "long", "nul", "traversal", "sql"],
)
def test_a_wrong_link_is_the_plain_404(client: TestClient, demo: Services, token: str) -> None:
    unknown = client.get("/sign-in/" + "B" * 43)
    response = client.get(f"/sign-in/{token}")
    assert response.status_code == 404
    assert response.text == unknown.text


def test_the_session_cookie_is_httponly_lax_path_root(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    [cookie] = [c for c in client.cookies.jar if c.name == "signoff_session"]
    assert cookie.path == "/"
    assert not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"


def test_the_session_cookie_is_secure_when_the_site_is_https(demo: Services, clock: Clock) -> None:
    https = load_settings(
        data_dir=demo.data_dir, secret_key=SECRET, base_url="https://board.example"
    )
    app = create_app(demo, https.web(), clock=clock)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        token = signin.issue_link(demo, PANEL, clock.now)
        page = client.get(f"/sign-in/{token}")
        done = client.post(f"/sign-in/{token}", data={"csrf_token": csrf_of(page.text)})
    cookie = [h for h in done.headers.get_list("set-cookie") if "signoff_session=" in h][0]
    assert "; secure" in cookie.lower()
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


def test_a_session_ends_after_30_idle_minutes(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    clock.now += dt.timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.now += dt.timedelta(minutes=29)
    assert client.get("/").status_code == 200  # active: still signed in
    clock.now += dt.timedelta(minutes=31)
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_a_session_ends_after_12_hours_however_busy(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    for _ in range(12 * 3 - 1):
        clock.now += dt.timedelta(minutes=20)
        assert client.get("/").status_code == 200
    clock.now += dt.timedelta(minutes=21)
    assert client.get("/").status_code == 303


def test_signing_in_again_rotates_the_session(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    old = client.cookies["signoff_session"]
    sign_in(client, demo, PANEL, clock)
    new = client.cookies["signoff_session"]
    assert new != old
    assert client.get("/").status_code == 200
    client.cookies.set("signoff_session", old)
    assert client.get("/").status_code == 303  # the old id works no more


def test_signing_out_ends_the_session(client: TestClient, demo: Services, clock: Clock) -> None:
    sign_in(client, demo, PANEL, clock)
    session_id = client.cookies["signoff_session"]
    assert client.get("/sign-out").status_code == 405  # never by a GET
    assert client.post("/sign-out", data={}).status_code == 404  # never without the token
    home = client.get("/")
    assert home.status_code == 200
    out = client.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/signed-out"
    client.cookies.set("signoff_session", session_id)  # a copy kept: no use now
    assert client.get("/").status_code == 303


def test_a_change_of_roles_ends_the_session(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    assert client.get("/").status_code == 200
    with demo.db.write() as conn:
        conn.execute(sa.text("UPDATE contact SET role = 'chair' WHERE email = :e"), {"e": PANEL})
    assert client.get("/").status_code == 303
    with demo.db.write() as conn:  # back as it was: the ended session stays ended
        conn.execute(
            sa.text("UPDATE contact SET role = 'panel_member' WHERE email = :e"), {"e": PANEL}
        )
    assert client.get("/").status_code == 303


def test_removing_someone_from_the_directory_ends_their_session(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, SEPT, clock)
    assert client.get("/").status_code == 200
    with demo.db.write() as conn:
        conn.execute(sa.text("DELETE FROM contact WHERE email = :e"), {"e": SEPT})
    assert client.get("/").status_code == 303


def test_the_business_manager_lists_sessions_and_ends_one(
    make_client: Callable[..., TestClient], demo: Services, clock: Clock
) -> None:
    manager, panel = make_client(), make_client()
    sign_in(manager, demo, BM, clock)
    sign_in(panel, demo, PANEL, clock)
    page = manager.get("/sessions")
    assert page.status_code == 200
    assert PANEL in page.text
    assert BM in page.text
    assert panel.cookies["signoff_session"] not in page.text  # never the session id
    ends = re.findall(r'action="/sessions/([a-z2-7]{16})/end"', page.text)
    assert len(ends) == 2
    with demo.db.engine.connect() as conn:
        panel_id = conn.execute(
            sa.text("SELECT public_id FROM staff_session WHERE email = :e"), {"e": PANEL}
        ).scalar_one()
    ended = manager.post(f"/sessions/{panel_id}/end", data={"csrf_token": csrf_of(page.text)})
    assert ended.status_code == 303
    assert panel.get("/").status_code == 303
    assert PANEL not in manager.get("/sessions").text
    again = manager.post(f"/sessions/{panel_id}/end", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 404


def test_ending_a_session_needs_the_form_token(
    make_client: Callable[..., TestClient], demo: Services, clock: Clock
) -> None:
    manager, panel = make_client(), make_client()
    sign_in(manager, demo, BM, clock)
    sign_in(panel, demo, PANEL, clock)
    with demo.db.engine.connect() as conn:
        panel_id = conn.execute(
            sa.text("SELECT public_id FROM staff_session WHERE email = :e"), {"e": PANEL}
        ).scalar_one()
    assert manager.post(f"/sessions/{panel_id}/end", data={}).status_code == 404
    assert panel.get("/").status_code == 200


def test_only_the_business_manager_sees_sessions(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    sign_in(client, demo, PANEL, clock)
    assert client.get("/sessions").status_code == 404


def test_too_many_links_for_one_address_send_no_more_and_say_the_same(
    make_client: Callable[..., TestClient], demo: Services
) -> None:
    client = make_client(links_per_address="3/15 minutes")
    answers = {ask(client, PANEL).headers["location"] for _ in range(5)}
    assert answers == {"/sign-in/check-email"}
    assert outbox_kinds(demo) == [("sign_in", PANEL)] * 3


def test_too_many_links_from_one_client_are_refused(
    make_client: Callable[..., TestClient], demo: Services
) -> None:
    client = make_client(links_per_client="4/15 minutes")
    for n in range(4):
        assert ask(client, f"person{n}@elsewhere.example").status_code == 303
    assert ask(client, PANEL).status_code == 429
    assert outbox_kinds(demo) == []


def test_signing_in_returns_to_the_page_asked_for(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    first = client.get("/sessions")
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in?next=%2Fsessions"
    form = client.get(first.headers["location"])
    assert 'name="next" value="/sessions"' in form.text
    client.post(
        "/sign-in", data={"email": BM, "next": "/sessions", "csrf_token": csrf_of(form.text)}
    )
    [link] = deliver(demo, smtp, clock.now)
    page = client.get(link)
    done = client.post(link, data={"csrf_token": csrf_of(page.text)})
    assert done.headers["location"] == "/sessions"


@pytest.mark.parametrize(
    ("hostile", "lands"),
    [
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/items\u2028x", "/"),
        ("x", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),  # stays escaped: a path of ours
    ],
    ids=["scheme_relative", "absolute", "backslash", "crlf", "unicode", "relative", "escaped"],
)
def test_signing_in_never_returns_to_another_site(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock, hostile: str, lands: str
) -> None:
    form = client.get("/sign-in")
    client.post("/sign-in", data={"email": BM, "next": hostile, "csrf_token": csrf_of(form.text)})
    [link] = deliver(demo, smtp, clock.now)
    page = client.get(link)
    done = client.post(link, data={"csrf_token": csrf_of(page.text)})
    assert done.headers["location"] == lands


def test_the_email_carries_no_case_detail_and_says_how_long(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    ask(client, SEPT)
    deliver(demo, smtp, clock.now)
    [message] = smtp.messages
    assert message["To"] == SEPT
    assert message["Subject"] == "Your link to sign in to signoff"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "15 minutes" in text
    assert "Named Nurse Safeguarding Children" in text  # the directory's name for them


def test_a_sign_in_email_goes_at_once_not_in_office_hours(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    clock.now = dt.datetime(2011, 1, 8, 23, 0, tzinfo=dt.UTC)  # Saturday night
    ask(client, PANEL)
    assert len(deliver(demo, smtp, clock.now)) == 1


def test_an_unsent_link_stops_working_when_its_email_is_composed_again(
    client: TestClient, demo: Services, smtp: SmtpServer, clock: Clock
) -> None:
    """A resend after a crash mints a new token; only the one in the email sent works."""
    ask(client, PANEL)
    with demo.db.engine.connect() as conn:
        public_id = conn.execute(sa.text("SELECT public_id FROM sign_in_link")).scalar_one()
    lost = signin.mint_token(demo, public_id, clock.now)
    [link] = deliver(demo, smtp, clock.now)
    assert client.get(f"/sign-in/{lost}").status_code == 404
    assert client.get(link).status_code == 200


def test_forms_in_other_tabs_keep_working(client: TestClient, demo: Services, clock: Clock) -> None:
    sign_in(client, demo, BM, clock)
    first_tab = client.get("/sessions")
    second_tab = client.get("/")
    assert csrf_of(second_tab.text) == csrf_of(first_tab.text)
    out = client.post("/sign-out", data={"csrf_token": csrf_of(first_tab.text)})
    assert out.status_code == 303
