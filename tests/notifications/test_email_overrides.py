"""The board's saved email wording (engine.wording): sent by the dispatcher, recorded, reverted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import wording
from engine.errors import TemplateError
from engine.queries import show
from engine.services import Services
from notifications.templates import Templates, validate
from tests.conftest import BM, NOW, R1, submit_r1
from tests.notifications.test_dispatcher import TEMPLATES, go
from tests.smtpd import SmtpServer

NAMES = TEMPLATES.names
SHIPPED_TEXT, SHIPPED_HTML = TEMPLATES.source("decision")
NEW_TEXT = SHIPPED_TEXT.replace(
    "Subject: {{ decision_label }}:", "Subject: Board news, {{ decision_label }}:"
)


def save(services: Services, text: str = NEW_TEXT, html: str = SHIPPED_HTML) -> wording.Version:
    return wording.save(
        services,
        name="decision",
        text_source=text,
        html_source=html,
        author=BM,
        now=NOW,
        check=validate,
        names=NAMES,
        note="friendlier subject",
    )


def rows(services: Services) -> int:
    with services.db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM email_wording")).scalar_one()


def last_event(services: Services) -> dict[str, object]:
    with services.db.engine.connect() as conn:
        return show(conn, services.specs, R1)["items"][0]["history"][-1]["data"]  # type: ignore[no-any-return]


def test_the_dispatcher_sends_the_saved_wording_and_records_its_version(
    demo: Services, smtp: SmtpServer
) -> None:
    version = save(demo)
    submit_r1(demo, "done")
    assert go(demo, smtp.port).sent == 1
    [message] = smtp.messages
    assert message["To"] == BM
    assert message["Subject"] == "Board news, Submit evidence: R1"
    assert last_event(demo)["template_version"] == version.version
    assert version.version.startswith(f"db{version.id}-")
    assert wording.history(demo, "decision")[0].note == "friendlier subject"


def test_reverting_sends_the_shipped_wording_again(demo: Services, smtp: SmtpServer) -> None:
    save(demo)
    reverted = wording.revert(
        demo,
        name="decision",
        shipped_text=SHIPPED_TEXT,
        shipped_html=SHIPPED_HTML,
        author=BM,
        now=NOW,
        names=NAMES,
    )
    assert reverted.shipped
    assert wording.current(demo) == {}
    assert [v.shipped for v in wording.history(demo, "decision")] == [True, False]
    submit_r1(demo, "done")
    go(demo, smtp.port)
    [message] = smtp.messages
    assert message["Subject"] == "Submit evidence: R1"
    assert last_event(demo)["template_version"] == TEMPLATES.version("decision")


INJECT = "Subject: {{ ref }}{{ '\\r\\n' }}Bcc: x@example.org\n"
BAD = [
    ("unknown variable", NEW_TEXT + "{{ review_title }}\n", SHIPPED_HTML, "unknown variable"),
    ("syntax", NEW_TEXT + "{% if %}\n", SHIPPED_HTML, "syntax error"),
    ("ssti", NEW_TEXT + "{{ ref.__class__ }}\n", SHIPPED_HTML, "__"),
    ("no subject", "Hello {{ ref }}\n", SHIPPED_HTML, "subject"),
    ("header injection", INJECT, SHIPPED_HTML, "break"),
    ("output limit", NEW_TEXT + "{{ ref * 10000000 }}\n", SHIPPED_HTML, "longer than"),
    ("html ssti", NEW_TEXT, SHIPPED_HTML + "{{ cycler.__init__ }}", "(html) line"),
]


@pytest.mark.parametrize(("what", "text", "html", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_refused_edit_saves_nothing(
    services: Services, what: str, text: str, html: str, says: str
) -> None:
    with pytest.raises(TemplateError) as e:
        save(services, text, html)
    assert says in str(e.value)
    assert rows(services) == 0
    assert wording.current(services) == {}


def test_a_saved_version_that_no_longer_passes_falls_back_to_shipped() -> None:
    built = TEMPLATES.overridden({"decision": ("Subject: {{ nope }}\n", SHIPPED_HTML, "db9-x")})
    assert built.version("decision") == TEMPLATES.version("decision")
    assert isinstance(built, Templates)


def test_unknown_names_and_bad_notes_are_refused(services: Services) -> None:
    with pytest.raises(wording.WordingRefused, match="no email 'nope'"):
        wording.save(
            services,
            name="nope",
            text_source="",
            html_source="",
            author=BM,
            now=NOW,
            check=validate,
            names=NAMES,
        )
    with pytest.raises(wording.WordingRefused, match="one line"):
        wording.save(
            services,
            name="decision",
            text_source=NEW_TEXT,
            html_source=SHIPPED_HTML,
            author=BM,
            now=NOW,
            check=validate,
            names=NAMES,
            note="a\nb",
        )
    assert rows(services) == 0
