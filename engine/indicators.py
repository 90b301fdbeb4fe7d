"""Performance indicators as a review states them (an annual report's).

An annual report carries the board's performance indicators: what is measured, what was
found, what the board will do about it. The importer reads them from a plan's
``performance_indicators`` section (name, measure, finding, action, comment; a value, unit
and target where given) and keeps them with the review. Reports show them as the report
states them, beside the figures signoff computes from the history, never mixed with them:
an indicator says "implemented appropriately" where the figure asks "within timescale", and
a reader should see both. The one writer of ``indicator``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from engine.spec.fields import Name, Text, Title
from engine.store import core

_indicator = core.indicator
_review = core.review

Scalar = float | int | str | None


class IndicatorIn(BaseModel):
    """One performance indicator of a plan's ``performance_indicators`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Title = Field(
        min_length=1,
        validation_alias=AliasChoices("name", "indicator"),
        description="what is measured, as the report names it (also written 'indicator')",
    )
    measure: Text | None = Field(None, description="how it is measured")
    finding: Text | None = Field(None, description="what the report found")
    action: Text | None = Field(None, description="what the board will do about it")
    comment: Text | None = None
    value: Scalar = Field(None, description="the figure the report gives, as it gives it")
    unit: Name | None = None
    target: Scalar = None

    @field_validator("value", "target")
    @classmethod
    def _finite(cls, value: Scalar) -> Scalar:
        """A value both databases' JSON can hold: NaN and infinity are kept as words."""
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, str) and len(value) > 200:
            raise ValueError("is longer than 200 characters; give the figure alone")
        return value


def write(conn: sa.Connection, review_id: str, indicators: Sequence[IndicatorIn]) -> list[str]:
    """Keep a review's indicators; those it already has (by name) are left unchanged, as a
    re-import leaves recommendations. Returns the names added."""
    present = set(
        conn.execute(
            sa.select(_indicator.c.name).where(_indicator.c.review_id == review_id)
        ).scalars()
    )
    start = len(present)
    added = []
    for i, ind in enumerate(x for x in indicators if x.name not in present):
        data = {k: v for k in ("value", "unit", "target") if (v := getattr(ind, k)) is not None}
        conn.execute(
            _indicator.insert().values(
                review_id=review_id,
                position=start + i,
                name=ind.name,
                measure=ind.measure,
                finding=ind.finding,
                action=ind.action,
                comment=ind.comment,
                data=data,
            )
        )
        added.append(ind.name)
    return added


def stated(
    conn: sa.Connection, review_id: str | None, day_from: dt.date | None, day: dt.date
) -> list[dict[str, Any]]:
    """The indicators of the reviews a report covers (one review, or all), as stated: those
    of reviews dated in the report's period (from ``day_from``, or any earlier date, to
    ``day``), or undated; in review date and position order."""
    query = (
        sa.select(
            _indicator.c.review_id,
            _review.c.title,
            _review.c.date,
            _indicator.c.name,
            _indicator.c.measure,
            _indicator.c.finding,
            _indicator.c.action,
            _indicator.c.comment,
            _indicator.c.data,
        )
        .join(_review, _review.c.id == _indicator.c.review_id)
        .where(sa.or_(_review.c.date.is_(None), _review.c.date <= day))
        .order_by(_review.c.date, _review.c.id, _indicator.c.position)
    )
    if day_from is not None:
        query = query.where(sa.or_(_review.c.date.is_(None), _review.c.date >= day_from))
    if review_id is not None:
        query = query.where(_indicator.c.review_id == review_id)
    return [
        {
            "review": r.review_id,
            "review_title": r.title,
            "review_date": r.date.isoformat() if r.date else None,
            "name": r.name,
            "measure": r.measure,
            "finding": r.finding,
            "action": r.action,
            "comment": r.comment,
            "value": (r.data or {}).get("value"),
            "unit": (r.data or {}).get("unit"),
            "target": (r.data or {}).get("target"),
        }
        for r in conn.execute(query)
    ]
