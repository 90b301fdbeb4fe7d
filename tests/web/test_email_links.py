"""Every link in every email leads its recipient to the right page, over real HTTP (issue 10).

The app is served by uvicorn on loopback and the mail goes through the test SMTP server. Every
notification kind is made the way signoff makes it (a request, an answer and its receipt,
decisions, the sweep's reminders, chases and escalations, a digest, the failures summary, a
sign-in link); each link of each email is then followed as the person it was sent to: an item
link sends a stranger to sign in (``next`` kept), the sign-in email's link brings them back to
the item, and the page is that item, with that recipient's agency's part of it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa

from app.settings import load_settings
from engine import inbox, outbox, signin, wording
from engine.fire import FireRequest, fire
from engine.requests.answer import answer
from engine.services import Services
from engine.sweep import run_once
from engine.uploads import UploadLimits
from notifications.dispatcher import dispatch
from notifications.templates import Templates
from tests.conftest import BM, NOW, PANEL, REVIEW
from tests.smtpd import SmtpServer, free_port
from tests.web.conftest import SECRET, SEPT, Clock, ask
from web import build_server, create_app, start_in_thread, stop

LATER = NOW + dt.timedelta(days=75)  # T1 (due 4 March 2011) well overdue: chased, escalated
_HREF = re.compile(r'href="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_DIGEST = re.compile(r"(Urgent: )?.+: \d+ (overdue )?items?( escalated to you| due soon)?$")


class Site:
    """The app on loopback, its clock, and the mail it sends."""

    def __init__(self, services: Services, smtp: SmtpServer, base: str, clock: Clock) -> None:
        self.services, self.smtp, self.base, self.clock = services, smtp, base, clock
        self.mail = load_settings(
            data_dir=services.data_dir, secret_key=SECRET, base_url=base,
            smtp_host="127.0.0.1", smtp_port=smtp.port,
            office_start=dt.time(0, 0), office_end=dt.time(23, 59),
        ).mail()  # fmt: skip

    def send(self) -> None:
        dispatch(self.services, self.mail, Templates(), self.clock.now, owner="test", batch=5000)

    def sign_in_link(self, email: str) -> str:
        """The link of the newest sign-in email to ``email``."""
        self.send()
        found = [m for m in self.smtp.messages if m["X-Signoff-Kind"] == "sign_in"
                 and m["To"] == email]  # fmt: skip
        assert found, f"no sign-in email to {email}"
        return links_of(found[-1])[0]


@pytest.fixture
def site(demo: Services, smtp: SmtpServer) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(data_dir=demo.data_dir, secret_key=SECRET, base_url=base)
    clock = Clock(NOW)
    app = create_app(demo, settings.web(), clock=clock, links_per_client="1000/minute",
                     post_limit="1000/minute", failure_limit="1000/minute")  # fmt: skip
    server = build_server(app, "127.0.0.1", port)
    thread = start_in_thread(server)
    try:
        yield Site(demo, smtp, base, clock)
    finally:
        stop(server, thread)


def links_of(message: EmailMessage) -> list[str]:
    html = message.get_body(("html",))
    assert html is not None
    return list(dict.fromkeys(_HREF.findall(str(html.get_content()))))


def every_kind(site: Site) -> None:
    """Make each kind of email as signoff does, and send them all."""
    services = site.services
    asked = ask(services, "T1", "sept")  # a request to SEPT's lead officer
    answer(services, asked.public_id, actor=SEPT, statement="done", uploads=[], now=NOW,
           limits=UploadLimits(), channel="web")  # fmt: skip
    # (that made a receipt, and a decision to the business manager)
    fire(services, FireRequest(item=f"{REVIEW}/T1", trigger="challenge", actor=PANEL,
                               now=NOW, reason="thin", meeting_date=NOW.date()))  # fmt: skip
    fire(services, FireRequest(item=f"{REVIEW}/T1", trigger="request_extension", actor=SEPT,
                               now=NOW, reason="sick", due_date=dt.date(2011, 4, 1)))  # fmt: skip
    site.send()
    site.clock.now = LATER
    for days in range(0, 76, 5):  # reminders before the due dates, then chases, escalations
        run_once(services, NOW + dt.timedelta(days=days))
    with services.db.write() as conn:  # one chase in a digest, and a failures summary
        item_id = conn.execute(sa.text("SELECT id FROM item ORDER BY id LIMIT 1")).scalar_one()
        outbox.enqueue(conn, [
            outbox.Notice(dedupe_key="test:digest", item_id=item_id, kind=outbox.Kind.CHASE,
                          template="chase", recipient=BM, send_at=LATER,
                          context={"digest": True, "days_overdue": 3}),
            outbox.Notice(dedupe_key="test:failures", item_id=None, kind=outbox.Kind.FAILURES,
                          template="failures", recipient=BM, send_at=LATER,
                          context={"count": 1, "failures": [{"ref": "R1", "review_ref": REVIEW,
                                   "kind": "chase", "recipient": SEPT, "error": "550"}]}),
            # a reply that could not be used gets one automatic answer (it names no item)
            inbox.auto_answer(services, "someone@example.net", inbox.Unusable.EMPTY,
                              "reply+x@signoff.example.org", LATER),
        ], LATER)  # fmt: skip
    signin.ask_for_link(services, PANEL, LATER)
    # the business manager's test of a wording (sample values, no real item)
    wording.send_test(services, name="reminder", to=BM, now=LATER, names=frozenset({"reminder"}))
    site.send()


def sign_in_through(
    site: Site, client: httpx.Client, email: str, response: httpx.Response
) -> httpx.Response:
    """Answer a redirect to /sign-in as ``email`` would: ask for a link, open it from the
    email, press the button; the response after the redirect back."""
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    asking = client.get(response.headers["location"])
    csrf = _CSRF.search(asking.text)
    next_path = re.search(r'name="next" value="([^"]*)"', asking.text)
    assert csrf
    assert next_path
    sent = client.post("/sign-in", data={"csrf_token": csrf.group(1), "email": email,
                                         "next": next_path.group(1)})  # fmt: skip
    assert sent.status_code == 303, sent.text
    return use_sign_in_link(client, site.sign_in_link(email))


def use_sign_in_link(client: httpx.Client, link: str) -> httpx.Response:
    button = client.get(link)
    assert button.status_code == 200, button.text
    csrf = _CSRF.search(button.text)
    assert csrf
    done = client.post(link, data={"csrf_token": csrf.group(1)})
    assert done.status_code == 303
    assert done.headers["location"].startswith("/")
    assert not done.headers["location"].startswith("//")
    return client.get(done.headers["location"])


def test_every_link_in_every_email_reaches_its_page_for_its_recipient(site: Site) -> None:
    every_kind(site)
    messages = site.smtp.messages
    kinds = {m["X-Signoff-Kind"] for m in messages}
    assert {k.value for k in outbox.Kind} <= kinds | {"digest"}, kinds
    digests = [m for m in messages if _DIGEST.match(str(m["Subject"]))]
    assert digests, "no digest sent"
    assert any("/items/" in link for m in digests for link in links_of(m))
    clients: dict[str, httpx.Client] = {}
    followed: set[tuple[str, str]] = set()
    seen_kinds: set[str] = set()
    try:
        for message in list(messages):
            recipient, kind = str(message["To"]), str(message["X-Signoff-Kind"])
            for link in links_of(message):
                if not link.startswith("http"):
                    continue  # mailto: the reply address
                assert link.startswith(site.base + "/"), (kind, link)
                if (recipient, link) in followed:  # this recipient reached it already
                    seen_kinds.add(kind)
                    continue
                if len(followed) > 40 and kind in seen_kinds:
                    continue
                followed.add((recipient, link))
                seen_kinds.add(kind)
                client = clients.setdefault(
                    recipient, httpx.Client(base_url=site.base, follow_redirects=False)
                )
                path = link[len(site.base) :]
                check_link(site, client, recipient, kind, path)
    finally:
        for c in clients.values():
            c.close()
    linked = {
        str(m["X-Signoff-Kind"]) for m in messages if any(x.startswith("http") for x in links_of(m))
    }
    # a receipt links nowhere: it only says what arrived; nor does an automatic answer, which
    # names no item
    assert linked >= kinds - {"receipt", "auto_answer"}
    assert seen_kinds == linked


def check_link(site: Site, client: httpx.Client, recipient: str, kind: str, path: str) -> None:
    if path.startswith("/r/"):  # an evidence request's reply link: no sign-in
        opened = client.get(path)
        if opened.status_code == 404:  # answered since (its request moved on): the plain 404
            assert "This link does not work" in opened.text
            return
        assert opened.status_code == 303
        assert opened.headers["location"].startswith("/reply/")
        return
    if path.startswith("/sign-in/"):
        landed = use_sign_in_link(client, path)
        assert landed.status_code == 200
        assert "What needs you now" in landed.text
        return
    first = client.get(path)
    landed = sign_in_through(site, client, recipient, first) if first.status_code == 303 else first
    assert landed.status_code == 200, (kind, recipient, path, landed.status_code)
    found = re.fullmatch(r"/items/([^/]+)/([^/@]+)@(.+)", path)
    if found:  # the linked item, and the recipient's agency's part of it
        review, ref, agency = found.groups()
        assert f"Recommendation {ref}</h1>" in landed.text, (kind, path)
        assert f'id="{agency}-heading"' in landed.text, (kind, path)
        assert str(landed.url).endswith(path) or landed.request.url.path == path
    elif path == "/outbox":  # the failures summary: the business manager's emails
        assert '<h1 class="govuk-heading-l">Emails</h1>' in landed.text
    else:
        assert path == "/", (kind, path)
        assert "What needs you now" in landed.text
