"""The item list and the item page, for everyone who may view items (as far as they may).

- ``GET /items``: filtered, searched, sorted and paginated by query parameters
  (``web.filters``), so a list can be bookmarked and linked from an email. Bad values give
  the GOV.UK error summary, and the list without the bad filter.
- ``GET /items/{review}/{ref}`` (and ``{ref}@{agency}``): the recommendation in full and each
  agency's item the person may see (``engine.dossier``), with the actions they may take now.
  Another agency's item and an unknown one are the same plain 404.

The item page links each action to its decision page (``web.panel``), which returns here
with ``?done=TRIGGER``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine import dossier, listing, timeline
from engine.dossier import Dossier
from engine.permissions import Permission
from engine.sessions import SignedIn
from web import urls
from web.access import Requires, page
from web.deps import Context, LinkDead
from web.filters import SORT_LABELS, check, has_control


def split_ref(ref: str) -> tuple[str, str | None]:
    """``R1@sept`` -> (``R1``, ``sept``); ``R1`` -> (``R1``, None).

    Raises:
        LinkDead: ``R1@`` (an empty agency), which names nothing.
    """
    base, at, agency = ref.partition("@")
    if (at and not agency) or has_control(ref):
        raise LinkDead()
    return base, (agency if at else None)


def load_dossier(ctx: Context, who: SignedIn, review: str, ref: str) -> Dossier:
    """The recommendation as ``who`` may see it. Raises LinkDead (the plain 404) when it does
    not exist or none of it is theirs."""
    base, agency = split_ref(ref)
    if has_control(review):
        raise LinkDead()
    found = dossier.load(
        ctx.services,
        review,
        base,
        agency,
        actor=who.person.email,
        visible=lambda a: who.person.may(Permission.VIEW_ITEMS, a),
        now=ctx.clock(),
    )
    if found is None:
        raise LinkDead()
    return found


def item_page(
    ctx: Context,
    request: Request,
    who: SignedIn,
    found: Dossier,
    *,
    status: int = 200,
    done: str = "",
) -> Response:
    return page(
        ctx,
        request,
        who,
        "item.html",
        status=status,
        d=found,
        rec=found.rec,
        done=done,
        errors=[],
        may_download=lambda agency: who.person.may(Permission.DOWNLOAD_EVIDENCE, agency),
        today=ctx.services.calendar.local(ctx.clock()).date(),
    )


def router(ctx: Context) -> APIRouter:
    routes = APIRouter()

    @routes.get(urls.ITEMS)
    def items(
        request: Request, who: Annotated[SignedIn, Depends(Requires(Permission.VIEW_ITEMS))]
    ) -> Response:
        access = who.person.access(Permission.VIEW_ITEMS)
        now = ctx.clock()
        today = ctx.services.calendar.local(now).date()
        with ctx.services.db.engine.connect() as conn:
            choices = listing.choices(conn, access.agencies)
            checked = check(request.query_params, choices)
            found = listing.find(
                conn, ctx.services.specs, checked.filters, agencies=access.agencies,
                today=today,
            )  # fmt: skip
        kept = {k: v for k, v in checked.typed.items() if k not in checked.errors}
        return page(
            ctx,
            request,
            who,
            "items.html",
            status=400 if checked.errors else 200,
            found=found,
            choices=choices,
            typed=checked.typed,
            field_errors=checked.errors,
            errors=[{"text": t, "href": f"#{n}"} for n, t in checked.errors.items()],
            sorts=SORT_LABELS,
            page_link=lambda n: urls.items_path({**kept, "page": n}),
            sort_value=checked.filters.sort.value,
        )

    @routes.get(urls.ITEM)
    async def item(
        request: Request,
        review: str,
        ref: str,
        who: Annotated[SignedIn, Depends(Requires(Permission.VIEW_ITEMS))],
    ) -> Response:
        found = await run_in_threadpool(load_dossier, ctx, who, review, ref)
        done = request.query_params.get("done", "")
        label = found.labels.get(done)
        said = f"You {timeline.past(label)}." if label else ""
        return item_page(ctx, request, who, found, done=said)

    return routes
