"""Every route of the app, as every role, with its own, a foreign and a non-existent id (issue 10).

Generated from the app's route table: each signed-in route declares its permission
(``web.access.Requires``), and what each role may do is read from the roles table, so a new
route is covered the day it is added. A route with no ``Requires`` must be on the short list
of public routes below, or this test fails. Foreign and unknown ids give the same 404; a
permitted request succeeds; nothing else does.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from engine import api_tokens, directory, drafts, inbox, permissions, sessions, staged_imports
from engine.directory import AgencyEntry
from engine.directory import Person as Contact
from engine.evidence import EvidenceInput, store_bytes
from engine.fire import FireRequest, fire
from engine.importer import import_files
from engine.inbox import Arrival, InboundStatus
from engine.permissions import Permission, Person
from engine.services import Services
from engine.store.tables import Rag, new_public_id
from tests.conftest import AUDITOR, BM, PANEL, REVIEW
from tests.web.conftest import BOOK, Clock, ask, csrf_of, evidence_file, row_counts, sign_in
from web.access import Requires
from web.api import PREFIX
from web.emails import split

TEMPLATES = BOOK
CHAIR = "chair@southend-lscb.example.org"
VIEWER = "board.member@southend-lscb.example.org"
SEPT_LEAD = "named.nurse@sept.example.org"
NHS_LEAD = "designated.nurse@nhs-see.example.org"
PEOPLE = {
    "business_manager": BM,
    "panel_member": PANEL,
    "chair": CHAIR,
    "internal_auditor": AUDITOR,  # of NHS South East Essex
    "board_viewer": VIEWER,
    "agency_contact": SEPT_LEAD,  # of SEPT
}
# routes anyone may request: the reply page (its link is its credential) and signing in/out
PUBLIC = {
    ("GET", "/r/{token}"),
    ("GET", "/reply/{public_id}"),
    ("POST", "/reply/{public_id}"),
    ("GET", "/reply/{public_id}/done"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/sign-in/check-email"),
    ("GET", "/sign-in/{token}"),
    ("POST", "/sign-in/{token}"),
    ("POST", "/sign-out"),
    ("GET", "/signed-out"),
}


@dataclass(frozen=True)
class Thing:
    """Something a route names by id, and the agency it belongs to (None: the board's).

    ``path``: the whole address, for routes naming it by more than one part (an item's review
    and ref, and the action to take on it); ``form``: what a successful post sends."""

    id: str
    agency: str | None
    path: str | None = None
    form: dict[str, str] | None = None


# what each role does to an item on its decision page (a transition the workflow gives them from
# the state the item is put in), and the form that does it
ACTIONS = {
    "agency_contact": ("open", "request_extension",
                       {"reason": "Staff off sick", "due_date-day": "1", "due_date-month": "6",
                        "due_date-year": "2011"}),
    "internal_auditor": ("panel_signed_off", "audit_not_confirmed", {"reason": "Not embedded"}),
}  # fmt: skip
STAFF_ACTION = ("open", "transfer", {"reason": "A matter for the adults board"})


def api_routes(routes: Sequence[object]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI 0.165 includes them lazily;
    every router here is included without a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def signed_in_routes(app_routes: Sequence[object]) -> list[tuple[str, str, Permission | None]]:
    """(method, path, permission) of every route that needs signing in."""
    found = []
    for route in api_routes(app_routes):
        needs = [d.call for d in route.dependant.dependencies if isinstance(d.call, Requires)]
        for method in sorted(route.methods):
            if not needs:
                if route.path.startswith("/assets/"):  # GOV.UK Frontend's CSS, JS and fonts
                    continue
                assert (method, route.path) in PUBLIC, (
                    f"{method} {route.path} declares no Requires(...): add the permission it "
                    "needs, or list it in PUBLIC if anyone may request it"
                )
                continue
            [requires] = needs
            found.append((method, route.path, requires.permission))
    return found


class World:
    """The people, their clients, and one thing of each kind per agency for each id route."""

    def __init__(
        self, demo: Services, clock: Clock, make_client: Callable[..., TestClient]
    ) -> None:
        self.demo, self.clock, self.make_client = demo, clock, make_client
        with demo.db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO contact (agency_id, name, email, role, absent, failing) "
                    "VALUES ('southend-lscb', 'Board member', :e, 'board_member', false, false)"
                ),
                {"e": VIEWER},
            )
        uploader = make_client()
        self.evidence = [
            Thing(evidence_file(uploader, demo, ask(demo, "T1", "sept")), "sept"),
            Thing(
                evidence_file(uploader, demo, ask(demo, "T2", "nhs-south-east-essex")),
                "nhs-south-east-essex",
            ),
        ]
        self.made = 0
        self.clients: dict[str, TestClient] = {}
        for role, email in PEOPLE.items():
            self.clients[role] = make_client(
                post_limit="1000/minute"
            )  # every post route, as one client
            sign_in(self.clients[role], demo, email, clock)

    def person(self, role: str) -> Person:
        with self.demo.db.engine.connect() as conn:
            found = permissions.person(conn, PEOPLE[role])
        assert found is not None
        return found

    def item(self, agency: str, state: str) -> str:
        """A new item of ``agency`` in ``state`` (open, or signed off by the panel); its ref."""
        self.made += 1
        ref = f"W{self.made}"
        ask(self.demo, ref, agency)
        if state == "panel_signed_off":
            key = f"{REVIEW}/{ref}"
            lead = {"sept": SEPT_LEAD, "nhs-south-east-essex": NHS_LEAD}[agency]
            for trigger, actor, extra in (
                ("submit_evidence", lead, {"evidence": [EvidenceInput(statement="done")]}),
                ("sign_off", PANEL, {"meeting_date": self.clock.now.date(), "rag": Rag.GREEN,
                                     "reason": "good"}),
            ):  # fmt: skip
                fire(self.demo, FireRequest(item=key, trigger=trigger, actor=actor,
                                            now=self.clock.now, **extra))  # type: ignore[arg-type]  # fmt: skip
        return ref

    def held(self, sender: str) -> int:
        """A reply from ``sender`` held in the quarantine; its id."""
        self.made += 1
        raw = f"From: {sender}\r\nSubject: minutes {self.made}\r\n\r\nAttached.\r\n".encode()
        stored = store_bytes(self.demo.data_dir, raw, "message.eml")
        arrival = Arrival(received_at=self.clock.now, envelope_from=sender, sender=sender,
                          recipient="evidence@signoff.example.org", raw_sha256=stored.sha256,
                          size=len(raw))  # fmt: skip
        inbox.record(self.demo, arrival, key=f"<held-{self.made}@test>",
                     status=InboundStatus.QUARANTINED, reason="not a reply address")  # fmt: skip
        with self.demo.db.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT max(id) FROM inbound_message")).scalar_one())

    def failed_email(self) -> int:
        """An email to a SEPT contact the dispatcher gave up on; its outbox id."""
        self.made += 1
        with self.demo.db.write() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox (dedupe_key, kind, template, recipient, context, "
                        "status, attempts, next_attempt_at, created_at, failed_at, last_error) "
                        "VALUES (:k, 'reminder', 'reminder', :r, '{}', 'failed', 5, :t, :t, :t, "
                        "'550 mailbox unavailable') RETURNING id"
                    ),
                    {"k": f"test:{self.made}", "r": SEPT_LEAD, "t": self.clock.now},
                ).scalar_one()
            )

    def workflow_thing(self, path: str) -> Thing:
        """A workflow, one of its versions, or a fresh draft of it: changed from the published
        version (so that it publishes) and saved once."""
        if not path.startswith("/admin/workflows/drafts/"):
            return Thing("recommendation", None, path.replace("{name}", "recommendation")
                         .replace("{version}", "1"))  # fmt: skip
        self.made += 1
        with self.demo.db.write() as conn:
            draft = drafts.create(conn, workflow="recommendation", author=BM, now=self.clock.now)
            changed = draft.text.replace("Open, awaiting evidence", f"Open ({self.made})", 1)
            saved = drafts.save_text(conn, draft.id, text=changed, author=BM, now=self.clock.now,
                                     expected_revision=draft.revision)  # fmt: skip
        form = None
        if path.endswith("/yaml"):
            form = {"text": changed.replace("Open (", "Opened (", 1), "revision": "2"}
        elif path.endswith("/publish"):
            form = {"note": "Route test"}
        target = path.replace("{draft_id}", str(draft.id))
        if "{state}" in path or "{number}" in path:  # the structured editor (web.workflow_forms)
            return self.structured_thing(path, target, str(draft.id), saved.revision)
        return Thing(str(draft.id), None, target, form and {**form, "_page": target})

    @staticmethod
    def structured_thing(path: str, target: str, draft_id: str, revision: int) -> Thing:
        """A state's or transition's page of a draft, and an answer each of its forms takes."""
        state = "/states/" in path
        target = (
            target.replace("{state}", "open").replace("{step}", "1").replace("{number}", "1")
            .replace("{setting}", "chase" if state else "label")
        )  # fmt: skip
        if path.endswith("/remove"):
            form = {"_page": target.removesuffix("/remove")}
        elif path.endswith("{step}"):
            form = {"after": "7 days", "to": "ladder", "_page": target}
        elif path.endswith("{setting}"):
            form = {"chase_every": "14 days"} if state else {"label": "Send evidence"}
            form["_page"] = target
        else:
            form = {}
        return Thing(draft_id, None, target, {**form, "revision": str(revision)} if form else None)

    def staged_plan(self) -> str:
        """A plan the business manager uploaded on /admin/import, not imported yet; its id."""
        self.made += 1
        plan = f"Ref,Recommendation,Lead agency\nW{self.made},One.,SEPT\n".encode()
        staged = staged_imports.stage(
            self.demo.data_dir, f"plan{self.made}.csv", plan, by=BM, now=self.clock.now
        )
        return staged.id

    def anchor(self) -> int:
        """An event a new review's relative due date waits for; its id."""
        self.made += 1
        folder = self.demo.data_dir / f"plans{self.made}"
        folder.mkdir()
        plan = folder / f"relative{self.made}.csv"
        plan.write_text(
            "Ref,Recommendation,Lead agency,Target date\n"
            "1,One.,SEPT,within six months of publication of this Review\n"
        )
        with self.demo.db.write() as conn:
            import_files(conn, [plan], specs=self.demo.specs, actor=BM, now=self.clock.now,
                         calendar=self.demo.calendar)  # fmt: skip
            return int(conn.execute(sa.text("SELECT max(id) FROM anchor")).scalar_one())

    def things(self, path: str, role: str | None = None) -> list[Thing]:
        """The existing things a route with an id names, made afresh when using one ends it."""
        if path == "/evidence/{public_id}":
            return self.evidence
        if path == "/items/{review}/{ref}":
            return [
                Thing("T1", "sept", f"/items/{REVIEW}/T1@sept"),
                Thing("T2", "nhs-south-east-essex", f"/items/{REVIEW}/T2"),
            ]
        if path == "/tokens/{public_id}/revoke":
            _secret, made = api_tokens.create(
                self.demo, name="route test", role="board_viewer", agency=None,
                acts_for=None, created_by=BM, now=self.clock.now,
            )  # fmt: skip
            return [Thing(made.public_id, None)]
        if path == "/items/{review}/{ref}/decide/{trigger}":
            state, trigger, form = ACTIONS.get(role or "", STAFF_ACTION)
            return [
                Thing(ref, agency, target, {**form, "_page": target})
                for agency in ("sept", "nhs-south-east-essex")
                for ref in [self.item(agency, state)]
                for target in [f"/items/{REVIEW}/{ref}@{agency}/decide/{trigger}"]
            ]
        if path.startswith("/quarantine/{message_id}"):
            ref = self.item("sept", "open")
            message = str(self.held(SEPT_LEAD))
            form = (
                {"item": f"{REVIEW}/{ref}@sept", "assign-note": "It answers the request"}
                if path.endswith("/assign")
                else {"discard-note": "Not for us"}
            )
            return [Thing(message, None, path.replace("{message_id}", message), form)]
        if path.startswith("/admin/emails/{name}"):  # an email's wording: the board's own
            subject, body = split(TEMPLATES.shipped("decision")[0])
            form = {"subject": subject, "body": body, "html": TEMPLATES.shipped("decision")[1]}
            return [Thing("decision", None, form=form if path == "/admin/emails/{name}" else {})]
        if path.startswith("/admin/workflows/"):  # the board's own workflows and drafts
            return [self.workflow_thing(path)]

        if path.startswith("/admin/import/{upload_id}"):  # a plan the manager uploaded
            return [Thing(self.staged_plan(), None)]
        if path == "/admin/anchors/{anchor_id}":  # an event a plan's due dates count from
            anchor = self.anchor()
            form = {f"date-{anchor}-day": "31", f"date-{anchor}-month": "1",
                    f"date-{anchor}-year": "2011", "_page": "/admin/anchors"}  # fmt: skip
            return [Thing(str(anchor), None, form=form)]
        if path.startswith("/admin/directory/"):
            return self.directory_things(path)
        if path == "/outbox/{row_id}/retry":
            return [Thing(str(self.failed_email()), None)]
        if path == "/reports/file/{fmt}":  # the board's figures: every agency's, or nobody's
            return [Thing("json", None, "/reports/file/json?report=rag")]
        if path == "/sessions/{public_id}/end":
            sessions.start_session(self.demo, "chief.executive@sept.example.org",
                                   self.clock.now, sessions.How.LINK)  # fmt: skip
            with self.demo.db.engine.connect() as conn:
                newest = conn.execute(
                    sa.text(
                        "SELECT public_id FROM staff_session WHERE ended_at IS NULL "
                        "ORDER BY id DESC LIMIT 1"
                    )
                ).scalar_one()
            return [Thing(newest, None)]
        raise AssertionError(f"{path}: no ids known for this route; teach World.things")

    def request(
        self, role: str | None, method: str, path: str, form: Form | None = None
    ) -> tuple[int, str]:
        client = self.clients[role] if role else self.make_client()
        form = form(self) if callable(form) else form
        upload = None
        if method == "GET":
            response = client.get(path)
        else:
            data = {"csrf_token": csrf_of(client.get("/").text) if role else "none"}
            files = (form or {}).get("_files")
            if form is not None:  # an item page's form: as loaded, when the page loads
                form = dict(form)
                upload = form.pop("_file", None)
                where = form.pop("_page", None) or path.rsplit("/", 1)[0]
                shown = client.get(where) if role else None
                found = _VERSION.search(shown.text) if shown is not None else None
                version, seq = found.groups() if found else ("1", "1")
                data |= {**form, "version": version, "seq": seq}
                evidence = _EVIDENCE.search(shown.text) if shown is not None else None
                if evidence:
                    data["evidence"] = evidence.group(1)
                if shown is not None and shown.status_code == 200:
                    data["csrf_token"] = csrf_of(shown.text)
            data.pop("_files", None)
            if upload:
                files = [("file", upload)]
            response = client.post(path, data=data, files=files)
        return response.status_code, response.text

    def agency(self, *, ladder: bool = True) -> str:
        """A new agency with one contact (a lead officer, on its ladder or not); its id."""
        self.made += 1
        agency = f"route-{self.made}"
        lead = Contact(name="Route Lead", email=f"lead@{agency}.example.org",
                      roles=("lead_officer",))  # fmt: skip
        entry = AgencyEntry(id=agency, name=f"Route agency {self.made}", contacts=(lead,),
                            ladder=("lead_officer",) if ladder else ())  # fmt: skip
        directory.edit(self.demo, lambda s: {**s, agency: entry}, actor=BM, now=self.clock.now)
        return agency

    def contact(self, agency: str) -> str:
        """The editor's address of ``agency``'s one contact."""
        with self.demo.db.engine.connect() as conn:
            [person] = directory.read(conn)[agency].contacts
        return f"/admin/directory/agencies/{agency}/contacts/{person.id}"

    def directory_things(self, path: str) -> list[Thing]:
        """What the directory editor's routes name: an agency made afresh (using one changes
        it), one of its contacts, or an export format."""
        if path == "/admin/directory/export/{fmt}":
            return [Thing("csv", None)]
        base = "/admin/directory/agencies/{agency}"
        forms = {
            base: None,
            base + "/name": {"name": "Renamed agency"},
            base + "/remove": {"confirm": "yes"},
            base + "/ladder": {"action": "remove", "rung": "0", "role": "lead_officer"},
            base + "/conflicts": {"action": "add", "contact": CHAIR, "alternate": PANEL},
            base + "/auditors": {"action": "add", "auditor": AUDITOR},
            base + "/new-contact": {"name": "Route Contact", "email": "route.contact@example.org",
                                    "roles": "lead_officer", "absent": "no"},
        }  # fmt: skip
        if path in forms:
            agency = self.agency()
            return [Thing(agency, None, form=forms[path])]
        agency = self.agency(ladder=False)
        target = self.contact(agency)
        form = {"name": "Renamed", "email": f"lead@{agency}.example.org",
                "roles": "lead_officer", "absent": "no", "_page": target}  # fmt: skip
        if path.endswith("/remove"):
            return [Thing(agency, None, target + "/remove", {"_page": target, "confirm": "yes"})]
        return [Thing(agency, None, target, form)]


SUCCESS = {"GET": 200, "POST": 303}
# posts without an id in the path: what a successful one sends, and its answer (a token made
# on /tokens is shown on the page, once, rather than redirected to)
Form = dict[str, object] | Callable[["World"], dict[str, object]]
# a directory file adding one agency, as uploaded (checked: 200) and as confirmed (303)
_DIRECTORY_CSV = b"Agency,Record,Agency name\r\nroute-import,agency,Route Import\r\n"


def _confirmation(world: World) -> dict[str, object]:
    with world.demo.db.engine.connect() as conn:
        seen = directory.fingerprint(directory.read(conn))
    return {"filename": "d.csv", "content": base64.b64encode(_DIRECTORY_CSV).decode(),
            "fingerprint": seen}  # fmt: skip


# posts without an id in the path: what a successful one sends, its answer and, when not the
# plain 404, the answer to one without its form token (a form shown again: 400)
FORMS: dict[tuple[str, str], tuple[Form, int] | tuple[Form, int, int]] = {
    ("POST", "/tokens"): ({"name": "route test", "role": "board_viewer"}, 200),
    ("POST", "/admin/import"): (
        {"_files": [("plan", ("plan.csv", b"Ref,Recommendation\nW,One.\n", "text/csv"))]},
        303,
    ),
    ("POST", "/admin/directory/new-agency"): ({"id": "route-new", "name": "Route New"}, 303, 400),
    ("POST", "/admin/directory/import"): ({"_file": ("d.csv", _DIRECTORY_CSV, "text/csv")}, 200,
                                          400),
    ("POST", "/admin/directory/import/confirm"): (_confirmation, 303, 400),
}  # fmt: skip
_VERSION = re.compile(
    r'name="version" value="(\d+)">\s*<input type="hidden" name="seq" value="(\d+)"'
)
_EVIDENCE = re.compile(r'name="evidence" value="([\d,]*)"')
_PARAM = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize("role", [*PEOPLE])
def test_every_route_as_every_role(
    role: str, demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    world = World(demo, clock, make_client)
    person = world.person(role)
    routes = signed_in_routes(make_client().app.routes)
    assert routes, "no signed-in routes found"
    tried = 0
    for method, path, permission in routes:
        if not _PARAM.search(path):
            allowed = permission is None or person.may(permission)
            form, success, *_ = FORMS.get((method, path), (None, SUCCESS[method]))
            status, _ = world.request(role, method, path, form)
            assert (status == success) is allowed, (role, method, path, status)
            if not allowed:
                assert status == 404, (role, method, path, status)
            tried += 1
            continue
        status, unknown = world.request(role, method, _PARAM.sub(new_public_id(), path))
        assert status == 404, (role, method, path, "unknown id", status)
        for thing in world.things(path, role):
            target = thing.path or _PARAM.sub(thing.id, path)
            if permission is None:
                allowed = True
            elif thing.agency is None:
                allowed = person.may(permission)
            else:
                allowed = person.may(permission, thing.agency)
            status, text = world.request(role, method, target, thing.form)
            if allowed:
                assert status == SUCCESS[method], (role, method, target, status)
            else:
                assert status == 404, (role, method, target, status)
                assert text == unknown, (role, method, target, "foreign differs from unknown")
            tried += 1
    assert tried >= len(routes)


def test_every_signed_in_route_sends_a_stranger_to_sign_in(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    for method, path, _permission in signed_in_routes(client.app.routes):
        target = _PARAM.sub(new_public_id(), path)
        response = client.get(target) if method == "GET" else client.post(target, data={})
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/sign-in"), (method, path)


def test_each_role_is_allowed_something_and_refused_something(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    """The table gives no role nothing, and (but for the business manager) not everything."""
    world = World(demo, clock, make_client)
    for role in PEOPLE:
        person = world.person(role)
        granted = {p for p in Permission if person.may(p)}
        assert granted, role
        if role != "business_manager":
            assert granted != set(Permission), role


def test_every_signed_in_post_needs_the_form_token(
    demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    """As the business manager (allowed everything), a POST without the CSRF token does
    nothing: the same 404, and the thing it names is untouched."""
    world = World(demo, clock, make_client)
    client = world.clients["business_manager"]
    posts = [p for m, p, _ in signed_in_routes(client.app.routes) if m == "POST"]
    assert posts
    for path in posts:
        if _PARAM.search(path):
            [thing] = world.things(path, "business_manager")[:1]
            target, form, success = thing.path or _PARAM.sub(thing.id, path), thing.form, 303
            # a form (the item page's, a decision's) is shown again, saying why, with what was
            # typed; anything else is the plain 404
            refused_with = 400 if thing.form else 404
        else:  # /tokens: a token made is shown on the page, once
            target = path
            form, success, *refused = FORMS.get(("POST", path), (None, 303))
            refused_with = refused[0] if refused else 404
        form = form(world) if callable(form) else form
        typed = {k: v for k, v in (form or {}).items() if k not in ("_page", "_file", "_files")}
        for data in ({}, {"csrf_token": "forged"}):
            before = row_counts(demo)
            refused = client.post(target, data={**typed, **data})
            assert refused.status_code == refused_with, (path, data)
            assert row_counts(demo) == before, (path, data)
        status, _ = world.request("business_manager", "POST", target, form)
        assert status == success, path


def every_route(app_routes: Sequence[object]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app, the JSON API's (mounted) included."""
    for route in api_routes(app_routes):
        for method in sorted(route.methods):
            yield method, route.path
    for mount in app_routes:
        if isinstance(mount, Mount) and mount.path == PREFIX:
            for route in api_routes(mount.routes):
                for method in sorted(route.methods):
                    yield method, PREFIX + route.path


@pytest.mark.parametrize("bad", ["%00", "%0a", "%1b", "%7f"])
def test_a_control_character_in_any_path_or_query_is_refused_before_the_route(
    bad: str, demo: Services, clock: Clock, make_client: Callable[..., TestClient]
) -> None:
    """A NUL in an id or a query parameter made PostgreSQL raise (500) on some routes: every
    route answers the plain 404 for such a path and 400 for such a query, signed in or not,
    and changes nothing."""
    manager = make_client()
    sign_in(manager, demo, BM, clock)
    token = api_tokens.create(
        demo, name="nul test", role="business_manager", agency=None, acts_for=None,
        created_by=BM, now=clock.now,
    )[0]  # fmt: skip
    stranger = make_client()
    not_found = stranger.get("/no-such-page").text
    routes = sorted(set(every_route(manager.app.routes)))
    assert len(routes) > 30
    before = row_counts(demo)
    for client in (manager, stranger):
        for method, path in routes:
            headers = {"Authorization": f"Bearer {token}"} if path.startswith(PREFIX) else {}
            ids = _PARAM.sub(f"x{bad}y", path) if _PARAM.search(path) else path + bad
            fine = _PARAM.sub(new_public_id(), path)
            api = path.startswith(PREFIX)
            refused = 0 if api else 400  # the API answers a query as its schema documents
            for target, status in (
                (ids, 404),
                (f"{fine}?q={bad}", refused),
                (f"{fine}?page=1&agency=a{bad}&sort=due", refused),
                (f"{fine}?{bad}=1", refused),
            ):
                response = client.request(method, target, headers=headers, data=None)
                if status == 0:  # never a 500 (PostgreSQL never sees the NUL)
                    assert response.status_code < 500, (method, target)
                    continue
                assert response.status_code == status, (method, target, response.status_code)
                if api:
                    assert response.json() == {"detail": "Not found", "error": None}
                elif status == 404:
                    assert response.text == not_found, (method, target)
                else:
                    assert "There is a problem" in response.text
    assert row_counts(demo) == before
