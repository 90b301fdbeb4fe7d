"""``board-pack``: the reports of a period as one document, ending with the hash-chain heads
at the end of the period. The history is ``tests.engine.test_reports``'s fixture."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from openpyxl import load_workbook

from engine import checkpoints, reports
from engine.hashchain import GENESIS, row_hash, verify
from engine.items import resolve_item
from engine.services import Services
from engine.store import core
from engine.store.tables import Rag
from reports import render
from tests.conftest import ROOT
from tests.engine.test_reports import (  # noqa: F401 - history is a fixture used by name
    PANEL,
    REVIEW,
    _at,
    _fire,
    history,
)
from tests.reports.test_document import PDFTOPPM, PDFTOTEXT, needs_poppler

TO = dt.date(2011, 3, 31)
FROM = dt.date(2011, 1, 1)


def _build(services: Services, name: str, **kw: Any) -> reports.Report:
    request = reports.ReportRequest(name=name, today=TO, review=REVIEW, **kw)
    with services.db.engine.connect() as conn:
        return reports.build(conn, services.specs, services.calendar, request)


def _pack(services: Services, **kw: Any) -> reports.Report:
    return _build(services, "board-pack", **{"day_from": FROM, **kw})


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("rag", False),
        ("overdue", False),
        ("timescale", True),
        ("high-risk", True),
        ("themes", False),
    ],
)
def test_each_part_is_the_report_built_on_its_own(
    history: Services,  # noqa: F811
    name: str,
    period: bool,  # noqa: F811
) -> None:
    pack = _pack(history).data
    alone = _build(history, name, **({"day_from": FROM} if period else {}))
    assert pack["reports"][name] == alone.data


def test_heads_are_each_items_newest_event_before_the_end_of_the_period(history: Services) -> None:  # noqa: F811, E501
    end = history.calendar.due_moment(dt.date(2011, 2, 15))
    chain = _pack(history, day_to=dt.date(2011, 2, 15)).data["chain"]
    ev = core.event
    with history.db.engine.connect() as conn:
        a1 = resolve_item(conn, f"{REVIEW}/A1")
        rows = conn.execute(
            sa.select(ev.c.seq, ev.c.hash)
            .where(ev.c.item_id == a1.id, ev.c.at < end)
            .order_by(ev.c.seq)
        ).all()
    a1_head = next(h for h in chain["heads"] if h["item"] == f"{REVIEW}/A1")
    assert (a1_head["seq"], a1_head["hash"]) == (rows[-1].seq, rows[-1].hash)
    lines = "".join(f"{h['id']} {h['seq']} {h['hash']}\n" for h in chain["heads"])
    assert chain["heads_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert chain["items"] == 10  # A1-A7, A9 and A8 for two agencies
    assert chain["events"] == sum(h["seq"] for h in chain["heads"])


def test_a_rewritten_history_changes_the_digest_that_a_later_event_does_not(
    history: Services,  # noqa: F811
) -> None:
    """Rewriting an event and re-hashing the chain after it passes ``verify``; the digest
    printed in the pack still tells."""
    to = dt.date(2011, 2, 15)
    printed = _pack(history, day_to=to).data["chain"]["heads_sha256"]
    _fire(history, "A5", "set_rag", PANEL, "2011-04-02", rag=Rag.AMBER, reason="better")
    assert _pack(history, day_to=to).data["chain"]["heads_sha256"] == printed
    ev, it = core.event, core.item
    with history.db.write() as conn:
        a1 = resolve_item(conn, f"{REVIEW}/A1")
        rows = conn.execute(sa.select(ev).where(ev.c.item_id == a1.id).order_by(ev.c.seq)).all()
        prev = GENESIS
        for row in rows:
            values = row._asdict()
            if row.trigger == "sign_off":
                values["reason"] = "seen and agreed"  # the edit
            fixed = row_hash(prev, _Row(values))
            conn.execute(
                ev.update()
                .where(ev.c.id == row.id)
                .values(reason=values["reason"], prev_hash=prev, hash=fixed)
            )
            prev = fixed
        conn.execute(it.update().where(it.c.id == a1.id).values(last_hash=prev))
    with history.db.engine.connect() as conn:
        assert verify(conn).ok  # the chain alone cannot show the rewrite
    assert _pack(history, day_to=to).data["chain"]["heads_sha256"] != printed


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def test_checkpoints_sealed_in_the_period_are_listed(history: Services) -> None:  # noqa: F811
    key = b"k" * 32
    taken = checkpoints.take(history, key, now=_at("2011-03-20"), actor="test")
    listed = _pack(history).data["chain"]["checkpoints"]
    assert [c["number"] for c in listed] == [taken.seal.number]
    assert listed[0]["signature"] == taken.seal.signature
    assert _pack(history, day_from=dt.date(2011, 3, 21)).data["chain"]["checkpoints"] == []


def test_board_pack_json_follows_the_published_schema(history: Services) -> None:  # noqa: F811
    schema = json.loads((ROOT / "config" / "report.schema.json").read_text())
    data = json.loads(json.dumps(_pack(history).data))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(data)] == []
    data["chain"]["heads_sha256"] = "not a hash"
    assert not Draft202012Validator(schema).is_valid(data)


def test_board_pack_html_has_a_heading_per_part_and_the_heads_last(history: Services) -> None:  # noqa: F811, E501
    html = render(_pack(history), "html").decode()
    headings = [
        "RAG and state",
        "Overdue items",
        "Themes by agency",
        "Hash-chain heads at the end of the period",
    ]
    assert html.count('<h2 id="part-') == 6  # five reports and the chain
    for title in headings:
        assert f">{title}" in html, title
    assert html.index("Hash-chain heads") > html.index("Themes by agency")
    assert 'role="img"' in html


@needs_poppler
def test_board_pack_pdf_pages_carry_the_parts_and_the_digest(
    history: Services,  # noqa: F811
    tmp_path: Path,
) -> None:
    pack = _pack(history)
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(render(pack, "pdf"))
    subprocess.run(
        [str(PDFTOPPM), "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pages)
    text = subprocess.run(
        [str(PDFTOTEXT), str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    for title in ("Board pack", "RAG and state", "Hash-chain heads at the end of the period"):
        assert title in text
    assert pack.data["chain"]["heads_sha256"] in "".join(text.split())
    flat = " ".join(text.split())
    assert "Implemented (signed off, or assured) 1 6 16.7% 2 6 33.3%" in flat  # the figures
    page_text = [
        subprocess.run(
            [str(PDFTOTEXT), "-f", str(n), "-l", str(n), str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        for n in range(1, len(pages) + 1)
    ]
    drill = next(n for n, t in enumerate(page_text) if "Items behind each figure" in t)
    chain = next(n for n, t in enumerate(page_text) if "Hash-chain heads at the end" in t)
    assert drill < chain  # the heads come last, after the items behind each figure
    digest = pack.data["chain"]["heads_sha256"]
    assert digest in "".join("".join(page_text[chain:]).split())
    assert digest not in "".join("".join(page_text[:chain]).split())
    assert pack.data["chain"]["heads"][-1]["hash"] in "".join("".join(page_text[chain:]).split())


def test_each_figure_in_the_pack_is_labelled_with_its_part(history: Services) -> None:  # noqa: F811
    """In one pack "sept: red" (RAG) and "sept: all" (themes) must be told apart wherever a
    label is read: the drill-down's headings, the figure sheets, the links' text."""
    pack = _pack(history)
    labelled = [(t.section, f.label) for t in pack.tables for f in t.figures()]
    assert labelled
    assert [(s, label) for s, label in labelled if not label.startswith(f"{s}: ")] == []
    assert ("RAG and state", "RAG and state: sept: no RAG") in labelled
    alone = {f.label for f in _build(history, "rag").figures()}
    assert "sept: no RAG" in alone  # the report on its own keeps the short label


class _DrillDown(HTMLParser):
    """The items listed under each figure's heading (``id="fN"``) and each count's link."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, list[str]] = {}
        self.links: list[str] = []
        self._at: str | None = None
        self._li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h3", "h4") and (a.get("id") or "").startswith("f"):
            self._at = str(a["id"])
            self.items[self._at] = []
        self._li = tag == "li" and self._at is not None
        if tag == "a" and (a.get("href") or "").startswith("#f"):
            self.links.append(str(a["href"])[1:])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._at = None

    def handle_data(self, data: str) -> None:
        if self._li and self._at is not None:
            self.items[self._at].append(data)
            self._li = False


def test_every_figure_leads_to_the_same_items_in_html_xlsx_and_json(history: Services) -> None:  # noqa: F811
    pack = _pack(history)
    figures = pack.figures()
    assert len(figures) > 20
    drill = _DrillDown()
    drill.feed(render(pack, "html").decode())
    book = load_workbook(io.BytesIO(render(pack, "xlsx")))
    for n, f in enumerate(figures, start=1):
        assert drill.items[f"f{n}"] == list(f.keys), f.label  # the HTML drill-down
        sheet = book[f"F{n}"]  # a sheet per figure
        assert (sheet["A1"].value, sheet["B1"].value) == (f.label, f.count)
        listed = [r[0] for r in sheet.iter_rows(min_row=3, max_col=1, values_only=True)]
        assert listed == list(f.keys), f.label
    assert set(drill.links) == {f"f{n}" for n in range(1, len(figures) + 1)}
    # the JSON carries the same keys behind the same counts
    timescale = pack.data["reports"]["timescale"]["bases"]["implemented"]["within_agreed"]
    label = "Implemented within timescale: implemented within agreed due date"
    [figure] = [f for f in figures if f.label == label]
    assert list(figure.keys) == timescale["items"] == [f"{REVIEW}/A1", f"{REVIEW}/A2"]
    red = pack.data["reports"]["rag"]["by_agency"]["nhs-south-east-essex"]["rag"]["red"]
    [figure] = [f for f in figures if f.label == "RAG and state: nhs-south-east-essex: red"]
    assert list(figure.keys) == red["items"] == [f"{REVIEW}/A5"]
