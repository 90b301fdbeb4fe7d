"""The JSON API, ``/api/v1``: reviews, items (the ``/items`` filters), history, evidence
metadata, decisions and the outbox, for a personal access token.

Every request carries ``Authorization: Bearer TOKEN`` (``engine.api_tokens``); without a
live token the answer is 401. What a token may read and do is the roles table's answer for
its role and agency (``Person.may``, as for the pages): an endpoint its role lacks is 403; an
item of an agency it does not reach is the same 404 as one that does not exist. A decision
fires the transition through ``engine.fire`` exactly as the pages and ``signoff fire`` do,
as the directory person the token acts for, with the same refusals (status codes in
``_FIRE_STATUS``). The schema is at ``/api/v1/openapi.json`` and its docs at
``/api/v1/docs``, both served from this site (Swagger UI from ``web/node_modules``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from engine import api_tokens, errors, listing, queries
from engine.api_tokens import Bearer
from engine.evidence import EvidenceInput
from engine.fire import FireRequest, fire
from engine.permissions import Permission
from engine.store.tables import DeliveryStatus, Rag
from web.deps import Context
from web.filters import NAMES, check

PREFIX = "/api/v1"
SWAGGER = Path(__file__).resolve().parent / "node_modules" / "swagger-ui-dist"
_SWAGGER_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>signoff API</title>
<link rel="stylesheet" href="{prefix}/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{prefix}/docs/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs/start.js"></script></body></html>
"""
# a file, not inline script, so the site's CSP (default-src 'self') needs no exception
_START = (
    f'window.ui = SwaggerUIBundle({{url: "{PREFIX}/openapi.json", dom_id: "#swagger-ui", '
    "deepLinking: true});\n"
)
_MAX_ID = 200
_DESCRIBED = {
    "review": "a review's id",
    "agency": "an agency's id",
    "state": "a workflow state's id",
    "rag": "red, amber or green",
    "priority": "H, M or L",
    "theme": "one of the themes",
    "overdue": "yes or no (true/false, 1/0)",
    "due_within": "due within this many days from today",
    "q": "words in the reference, text, agreed action or review title",
    "sort": ", ".join(s.value for s in listing.Sort),
    "page": "page number, from 1 (past the last: the last)",
}


def _plain(value: str | None) -> str | None:
    """Text without NUL, other control characters (newlines and tabs allowed) or lone
    surrogates (which no database stores)."""
    if value is not None and any(
        (ord(c) < 32 and c not in "\n\r\t") or 0xD800 <= ord(c) <= 0xDFFF for c in value
    ):
        raise ValueError("contains control characters or unpaired surrogates")
    return value


Reason = Annotated[str, Field(max_length=5000), AfterValidator(_plain)]
Statement = Annotated[str, Field(max_length=20000), AfterValidator(_plain)]


class Problem(BaseModel):
    detail: str
    error: str | None = None


class Review(BaseModel):
    id: str
    title: str
    items: int


class ItemRow(BaseModel):
    key: str  # REVIEW/REF, or REVIEW/REF@AGENCY when several agencies answer it
    review: str
    ref: str
    agency: str
    agency_name: str
    title: str
    state: str
    state_label: str
    terminal: bool
    rag: str | None
    priority: str | None
    themes: list[str]
    due: dt.date | None
    pending_due: dt.date | None
    overdue: bool
    updated_at: dt.datetime


class ItemList(BaseModel):
    items: list[ItemRow]
    total: int
    page: int
    pages: int


class FilterProblems(BaseModel):
    detail: str
    fields: dict[str, str]  # parameter -> what is wrong with it (the /items page's words)


class AgencyItem(BaseModel):
    agency: str
    state: str
    state_label: str
    terminal: bool
    outcome: str | None
    rag: str | None
    due: str | None
    due_history: list[Any]
    pending_due: str | None
    version: int
    allowed: list[str]


class Recommendation(BaseModel):
    key: str
    review: str
    ref: str
    title: str
    text: str
    risk_if_not_actioned: str | None
    priority: str | None
    agreed_action: str | None
    themes: list[str]
    items: list[AgencyItem]


class Event(BaseModel):
    agency: str
    seq: int
    at: str
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    reason: str | None
    rag: str | None


class EvidenceMeta(BaseModel):
    agency: str
    public_id: str
    submitted_by: str
    submitted_at: str
    channel: str
    has_statement: bool
    filename: str | None
    sha256: str | None
    size: int
    content_type: str | None


class Decision(BaseModel):
    """A transition to fire, as on the item page or with ``signoff fire``."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="e.g. challenge")
    reason: Reason | None = None
    rag: Rag | None = None
    meeting_date: dt.date | None = None
    due_date: dt.date | None = None
    statement: Statement | None = None
    expected_version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="refused with 409 if the item moved on"
    )


class Fired(BaseModel):
    key: str
    trigger: str
    from_state: str
    to_state: str
    seq: int
    version: int
    notifications: int


class OutboxRow(BaseModel):
    id: int
    kind: str
    template: str
    to: str
    status: str
    attempts: int
    item_id: int | None
    error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None


_FIRE_STATUS: list[tuple[type[Exception], int]] = [
    (errors.NotFound, 404),
    (errors.ConcurrentUpdate, 409),
    (errors.TransitionNotAllowed, 409),
    (errors.GuardFailed, 409),
    (PermissionError, 403),
    (errors.FireError, 422),
    (errors.EvidenceError, 422),
]
_UNAUTHORISED = {"model": Problem, "description": "no valid bearer token"}
_FORBIDDEN = {"model": Problem, "description": "the token's role may not do this"}
_NOT_FOUND = {"model": Problem, "description": "no such thing the token may see"}
_COMMON: dict[int | str, dict[str, Any]] = {401: _UNAUTHORISED, 403: _FORBIDDEN}


class _Refused(Exception):
    def __init__(self, status: int, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.error = status, detail, error


def _not_found() -> _Refused:
    return _Refused(404, "Not found")


def create_api(ctx: Context) -> FastAPI:
    """The API app, mounted by ``web.app`` at ``/api/v1``."""
    api = FastAPI(
        title="signoff API",
        version="1",
        description=__doc__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": PREFIX}],
    )
    scheme = HTTPBearer(auto_error=False, description="a personal access token (signoff token)")

    credentials_of = Depends(scheme)

    def bearer(credentials: HTTPAuthorizationCredentials | None = credentials_of) -> Bearer:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _Refused(401, "Send Authorization: Bearer TOKEN (a personal access token)")
        found = api_tokens.authenticate(ctx.services, credentials.credentials, ctx.clock())
        if found is None:
            raise _Refused(401, "The token is unknown or revoked")
        return found

    token_of = Depends(bearer)

    def needs(permission: Permission) -> Any:
        def check(token: Bearer = token_of) -> Bearer:
            if not token.person.may(permission):
                raise _Refused(
                    403, f"A {_role(token)} token may not {permission.value.replace('_', ' ')}"
                )
            return token

        return Depends(check)

    async def on_refused(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        body = Problem(detail=exc.detail, error=exc.error).model_dump()
        return JSONResponse(body, status_code=exc.status, headers=headers)

    api.add_exception_handler(_Refused, on_refused)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        from fastapi.exception_handlers import request_validation_exception_handler

        assert isinstance(exc, RequestValidationError)
        return await request_validation_exception_handler(request, exc)

    api.add_exception_handler(RequestValidationError, on_invalid)

    def today() -> dt.date:
        return ctx.services.calendar.local(ctx.clock()).date()

    def recommendation(key: str, token: Bearer, permission: Permission) -> dict[str, Any]:
        """``queries.show`` cut to the agencies the token reaches; 404 when none."""
        if len(key) > _MAX_ID or _plain_or_none(key) is None:
            raise _not_found()
        reach = token.person.access(permission)
        try:
            with ctx.services.db.engine.connect() as conn:
                shown = queries.show(conn, ctx.services.specs, key)
        except errors.NotFound:
            raise _not_found() from None
        shown["items"] = [i for i in shown["items"] if reach.allows(i["agency"])]
        if not shown["items"]:
            raise _not_found()
        return shown

    read = needs(Permission.VIEW_ITEMS)
    act = needs(Permission.ACT_ON_ITEMS)
    manage_outbox = needs(Permission.MANAGE_OUTBOX)
    found_or_not: dict[int | str, dict[str, Any]] = {**_COMMON, 404: _NOT_FOUND}

    @api.get("/reviews", responses=_COMMON, tags=["reviews"])
    def reviews(token: Bearer = read) -> list[Review]:
        """Reviews with at least one item the token may see, and how many."""
        reach = token.person.access(Permission.VIEW_ITEMS)
        with ctx.services.db.engine.connect() as conn:
            rows = queries.reviews(conn, None if reach.agencies is None else reach.agencies)
        return [Review(**r) for r in rows]

    bad_filter: dict[int | str, dict[str, Any]] = {
        **_COMMON,
        422: {"model": FilterProblems, "description": "a filter is wrong; each is named"},
    }

    @api.get("/items", response_model=ItemList, responses=bad_filter, tags=["items"])
    def items(
        request: Request,
        review: Annotated[str | None, Query(description=_DESCRIBED["review"])] = None,
        agency: Annotated[str | None, Query(description=_DESCRIBED["agency"])] = None,
        state: Annotated[str | None, Query(description=_DESCRIBED["state"])] = None,
        rag: Annotated[str | None, Query(description=_DESCRIBED["rag"])] = None,
        priority: Annotated[str | None, Query(description=_DESCRIBED["priority"])] = None,
        theme: Annotated[str | None, Query(description=_DESCRIBED["theme"])] = None,
        overdue: Annotated[str | None, Query(description=_DESCRIBED["overdue"])] = None,
        due_within: Annotated[str | None, Query(description=_DESCRIBED["due_within"])] = None,
        q: Annotated[str | None, Query(description=_DESCRIBED["q"])] = None,
        sort: Annotated[str | None, Query(description=_DESCRIBED["sort"])] = None,
        page: Annotated[str | None, Query(description=_DESCRIBED["page"])] = None,
        token: Bearer = read,
    ) -> Any:
        """Items, filtered, sorted and paged as on the ``/items`` page: the same parameters,
        read by the same code (``web.filters``), 25 a page."""
        query = {name: request.query_params.get(name, "") for name in NAMES}
        unreadable = {
            name: f"{name} contains characters that are not allowed"
            for name, value in query.items()
            if _plain_or_none(value) is None or "\x00" in value
        }
        if unreadable:
            return _filter_problems(unreadable)
        reach = token.person.access(Permission.VIEW_ITEMS)
        with ctx.services.db.engine.connect() as conn:
            checked = check(query, listing.choices(conn, reach.agencies))
            if checked.errors:
                return _filter_problems(checked.errors)
            found = listing.find(
                conn, ctx.services.specs, checked.filters, agencies=reach.agencies,
                today=today(),
            )  # fmt: skip
        return ItemList(
            items=[
                ItemRow(
                    key=row.path,
                    review=row.review,
                    ref=row.ref,
                    agency=row.agency,
                    agency_name=row.agency_name,
                    title=row.title,
                    state=row.state,
                    state_label=row.state_label,
                    terminal=row.terminal,
                    rag=row.rag,
                    priority=row.priority,
                    themes=list(row.themes),
                    due=row.due,
                    pending_due=row.pending_due,
                    overdue=row.overdue,
                    updated_at=row.updated_at,
                )
                for row in found.rows
            ],
            total=found.total,
            page=found.page,
            pages=found.pages,
        )

    @api.get("/items/{review}/{ref}", responses=found_or_not, tags=["items"])
    def item(review: str, ref: str, token: Bearer = read) -> Recommendation:
        """One recommendation and each agency's item the token may see (``REF@AGENCY``
        for one agency's)."""
        shown = recommendation(f"{review}/{ref}", token, Permission.VIEW_ITEMS)
        return Recommendation(
            key=shown["key"],
            review=shown["review"]["id"],
            ref=shown["ref"],
            title=shown["title"],
            text=shown["text"],
            risk_if_not_actioned=shown["risk_if_not_actioned"],
            priority=shown["priority"],
            agreed_action=shown["agreed_action"],
            themes=shown["themes"],
            items=[
                AgencyItem(**{k: i[k] for k in AgencyItem.model_fields}) for i in shown["items"]
            ],
        )

    @api.get("/items/{review}/{ref}/history", responses=found_or_not, tags=["items"])
    def history(review: str, ref: str, token: Bearer = read) -> list[Event]:
        """Every event of each agency's item the token may see, oldest first."""
        shown = recommendation(f"{review}/{ref}", token, Permission.VIEW_ITEMS)
        return [
            Event(
                agency=i["agency"],
                seq=e["seq"],
                at=e["at"],
                actor=e["actor"],
                trigger=e["trigger"],
                from_state=e["from"],
                to_state=e["to"],
                reason=e["reason"],
                rag=e["rag"],
            )
            for i in shown["items"]
            for e in i["history"]
        ]

    @api.get("/items/{review}/{ref}/evidence", responses=found_or_not, tags=["items"])
    def evidence(review: str, ref: str, token: Bearer = read) -> list[EvidenceMeta]:
        """What evidence each item has: names, hashes, sizes and types, never contents."""
        shown = recommendation(f"{review}/{ref}", token, Permission.VIEW_ITEMS)
        return [
            EvidenceMeta(
                agency=i["agency"],
                public_id=e["public_id"],
                submitted_by=e["submitted_by"],
                submitted_at=e["submitted_at"],
                channel=e["channel"],
                has_statement=bool(e["statement"]),
                filename=e["filename"],
                sha256=e["sha256"],
                size=e["size"],
                content_type=e["content_type"],
            )
            for i in shown["items"]
            for e in i["evidence"]
        ]

    decided: dict[int | str, dict[str, Any]] = {
        **found_or_not,
        400: {"model": Problem, "description": "the body is not JSON"},
        409: {"model": Problem, "description": "the item moved on, or the move is not open"},
    }

    @api.post(
        "/items/{review}/{ref}/decisions",
        status_code=201,
        responses=decided,
        tags=["decisions"],
    )
    async def decide(
        review: str,
        ref: str,
        decision: Decision,
        token: Bearer = act,
    ) -> Fired:
        """Fire a transition on one agency's item, as the person the token acts for."""
        key = f"{review}/{ref}"
        shown = await run_in_threadpool(recommendation, key, token, Permission.ACT_ON_ITEMS)
        if len(shown["items"]) != 1:
            agencies = ", ".join(i["agency"] for i in shown["items"])
            raise _Refused(
                422, f"several agencies answer {key}: name one as REF@AGENCY ({agencies})"
            )
        if token.acts_for is None:
            raise _Refused(
                403,
                "this token acts for nobody: decisions are made by people; make a token "
                "with --for EMAIL",
            )
        inputs = [EvidenceInput(statement=decision.statement)] if decision.statement else []
        request = FireRequest(
            item=key if "@" in ref else f"{key}@{shown['items'][0]['agency']}",
            trigger=decision.trigger,
            actor=token.acts_for,
            now=ctx.clock(),
            reason=decision.reason,
            rag=decision.rag,
            meeting_date=decision.meeting_date,
            due_date=decision.due_date,
            evidence=inputs,
            expected_version=decision.expected_version,
            channel="api",
        )
        try:
            done = await run_in_threadpool(fire, ctx.services, request)
        except errors.SignoffError as exc:
            for kind, status in _FIRE_STATUS:
                if isinstance(exc, kind):
                    raise _Refused(status, str(exc), type(exc).__name__) from None
            raise
        return Fired(
            key=done.key,
            trigger=done.trigger,
            from_state=done.from_state,
            to_state=done.to_state,
            seq=done.seq,
            version=done.version,
            notifications=done.notifications,
        )

    @api.get("/outbox", responses=_COMMON, tags=["outbox"])
    def outbox(
        status: DeliveryStatus | None = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        token: Bearer = manage_outbox,
    ) -> list[OutboxRow]:
        """Emails sent, waiting and failed (with the reason), oldest first, 100 a page."""
        with ctx.services.db.engine.connect() as conn:
            rows = queries.outbox(
                conn, status.value if status else None, limit=100, offset=(page - 1) * 100
            )
        return [OutboxRow(**r) for r in rows]

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS.format(prefix=PREFIX))

    @api.get("/docs/start.js", include_in_schema=False)
    def start() -> Response:
        return Response(_START, media_type="text/javascript; charset=utf-8")

    def swagger_file(name: str, media_type: str) -> None:
        async def serve() -> FileResponse:
            return FileResponse(SWAGGER / name, media_type=media_type)

        api.add_api_route(f"/docs/{name}", serve, methods=["GET"], include_in_schema=False)

    for name, media_type in _SWAGGER_FILES.items():
        swagger_file(name, media_type)
    return api


def _filter_problems(fields: dict[str, str]) -> JSONResponse:
    body = FilterProblems(detail="Some filters are wrong", fields=fields)
    return JSONResponse(body.model_dump(), status_code=422)


def _role(token: Bearer) -> str:
    return ", ".join(sorted(r.value.replace("_", " ") for r in token.person.roles))


def _plain_or_none(text: str) -> str | None:
    try:
        return _plain(text)
    except ValueError:
        return None
