"""HTML to text: a readable plain version of an HTML body, its quoted history marked or dropped.

Rules: script, style, head and similar hidden elements are dropped; blocks and ``<br>``
become line breaks (a blank line after paragraphs, headings, tables and lists, except
Outlook's margin-less ``MsoNormal`` paragraphs), list items start with ``- ``, table cells
are separated by two spaces, ``<pre>`` keeps its whitespace, entities are unescaped.
Quoted history: ``blockquote type=cite`` and ``gmail_quote``-like blocks are dropped;
Outlook's ``divRplyFwdMsg``/``appendonsend`` dividers end the text with a
``quotes.CUT`` marker, and a border-top divider or ``<hr>`` leaves a ``quotes.RULE``
marker, which ``new_text`` treats as history when a ``From:`` block follows.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from inbound.parse.quotes import CUT, RULE, tidy

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})
_CUT_IDS = frozenset({"divrplyfwdmsg", "appendonsend", "stopspelling", "olk_src_body_section"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base"})


# html2text (PyPI) writes Markdown (**bold**, [links](…), escaped punctuation) and has no
# hook to mark quoted history, so the conversion stays on the stdlib's HTMLParser
class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._skip: list[str] = []  # open tags of a quoted subtree being skipped
        self._stopped = False

    # output helpers
    def _at_line_start(self) -> bool:
        return not self.out or self.out[-1].endswith("\n")

    def _newline(self, blank: bool = False) -> None:
        if not self._at_line_start():
            self.out.append("\n")
        if blank and self.out and not "".join(self.out[-2:]).endswith("\n\n"):
            self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._stopped:
            return
        if self._skip:
            if tag == self._skip[0] and tag not in _VOID:
                self._skip.append(tag)
            return
        if tag == "body":
            self._hidden = 0  # a <head> that was never closed
        if tag in _HIDDEN:
            self._hidden += 1
            return
        found = {k.lower(): (v or "") for k, v in attrs}
        ident = found.get("id", "").lower().removeprefix("x_")
        classes = found.get("class", "").lower()
        if ident in _CUT_IDS:
            self._newline()
            self.out.append(CUT + "\n")
            self._stopped = True
            return
        if (tag == "blockquote" and found.get("type", "").lower() == "cite") or any(
            c in classes for c in _QUOTE_CLASSES
        ):
            if tag not in _VOID:
                self._skip.append(tag)
            return
        if (tag == "div" and "border-top" in found.get("style", "").lower()) or tag == "hr":
            self._newline()
            self.out.append(RULE + "\n")
            return
        if tag == "br":
            self.out.append("\n")
        elif tag in ("td", "th") and not self._at_line_start():
            self.out.append("  ")
        elif tag in _BLOCKS:
            # Outlook writes every line as <p class=MsoNormal> with no margin: no blank line
            self._newline(blank=tag in _PARAGRAPHS and "msonormal" not in classes)
            if tag == "li":
                self.out.append("- ")
            if tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if self._stopped:
            return
        if self._skip:
            if tag == self._skip[0]:
                self._skip.pop()
            return
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._newline()
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._stopped or self._skip or self._hidden:
            return
        data = data.replace(CUT, "").replace(RULE, "")
        if not self._pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
            if self._at_line_start():
                data = data.lstrip(" ")
        if data:
            self.out.append(data)


def _defuse(html: str) -> str:
    """Markup html.parser reads in linear time: comments, ``<!…>`` and ``<?…>`` dropped,
    and every ``<`` without its own ``>`` before the next ``<`` made text (``&lt;``).

    Unterminated comments and tags make html.parser rescan to the end of the input for
    each ``<`` (quadratic time on hostile HTML); this pass looks at each character once.
    """
    out: list[str] = []
    i, n = 0, len(html)
    while i < n:
        j = html.find("<", i)
        if j < 0:
            out.append(html[i:])
            break
        out.append(html[i:j])
        if html.startswith("<!--", j):
            end = html.find("-->", j + 4)
            if end < 0:
                break  # an unterminated comment hides the rest
            i = end + 3
            continue
        nxt = html.find("<", j + 1)
        close = html.find(">", j + 1, n if nxt < 0 else nxt)
        if close < 0:
            out.append("&lt;")
            i = j + 1
        elif html.startswith(("<!", "<?"), j):
            i = close + 1  # doctype, CDATA, Word's <![if ...]>, processing instructions
        else:
            out.append(html[j : close + 1])
            i = close + 1
    return "".join(out)


def html_to_text(html: str) -> str:
    """Readable text from an HTML body, quoted history inside it marked or dropped."""
    parser = _HtmlText()
    try:
        parser.feed(_defuse(html))
        parser.close()
    except (AssertionError, ValueError):  # very malformed markup: keep what was read
        pass
    text = "".join(parser.out).replace("\xa0", " ")
    return tidy(text.split("\n"))
