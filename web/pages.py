"""Rendering pages: one autoescaped Jinja2 environment over our templates and GOV.UK's.

Our templates live in ``web/templates`` and extend ``govuk_frontend_jinja/template.html``
(the GOV.UK Design System's page template, matching govuk-frontend 6.x). Each page gets
the request's CSP nonce for the template's one inline script. The plain "not found" and
"too many attempts" pages are rendered once, without a nonce, so their bytes are the same
for every request (a wrong, expired or revoked link cannot be told apart); their inline
script is allowed by its hash instead (``script_hash``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader
from markupsafe import Markup, escape

from web import urls

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def long_date(value: dt.date | dt.datetime | None) -> str:
    """``4 March 2027`` (GOV.UK style: no leading zero, full month)."""
    if value is None:
        return "no date set"
    return f"{value.day} {value:%B %Y}"


def long_time(value: dt.datetime) -> str:
    """``4 March 2027, 2:05pm`` (GOV.UK style: 12-hour clock, no leading zero)."""
    hour = value.hour % 12 or 12
    return f"{long_date(value)}, {hour}:{value:%M}{'am' if value.hour < 12 else 'pm'}"


def paragraphs(text: str) -> Markup:
    """Plain text as HTML paragraphs: blank lines split paragraphs, newlines become <br>."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    return Markup("\n").join(
        Markup('<p class="govuk-body">{}</p>').format(
            Markup("<br>\n").join(escape(line) for line in p.split("\n"))
        )
        for p in parts
    )


def file_size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{max(count, 1024) // 1024} KB"


class Pages:
    """The app's templates; built once per app."""

    def __init__(
        self,
        *,
        service_name: str = "signoff",
        local: Callable[[dt.datetime], dt.datetime] = lambda t: t,
    ) -> None:
        self.env = Environment(
            loader=ChoiceLoader(
                [
                    PackageLoader("web"),
                    PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
                ]
            ),
            autoescape=True,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            long_date=long_date,
            long_time=lambda t: long_time(local(t)),  # in the board's time zone
            paragraphs=paragraphs,
            file_size=file_size,
            iso_date=lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v,
            iso_time=lambda v: dt.datetime.fromisoformat(v) if isinstance(v, str) else v,
        )
        self.env.globals["serviceName"] = service_name
        self.env.globals.update(
            item_path=urls.item_path,
            items_path=urls.items_path,
            decide_path=urls.decide_path,
            key_path=urls.key_path,
        )
        self.not_found = self.render("not_found.html", nonce=None).encode()
        self.too_many = self.render("too_many.html", nonce=None).encode()
        self.bad_query = self.render(
            "problem.html", nonce=None, heading="There is a problem",
            message="The address has a character that cannot be used in it (a control "
            "character). Go back to the page you came from and try again.",
        ).encode()  # fmt: skip
        self.script_hash = _script_hash(self.not_found.decode())

    def render(self, name: str, *, nonce: str | None, **context: Any) -> str:
        return self.env.get_template(name).render(cspNonce=nonce, **context)


def _script_hash(page: str) -> str:
    """The CSP source (``'sha256-…'``) of the GOV.UK template's one inline script."""
    found = _INLINE_SCRIPT.search(page)
    if found is None:  # the template changed shape; a nonce still covers normal pages
        return ""
    digest = hashlib.sha256(found.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"
