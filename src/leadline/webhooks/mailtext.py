"""The text of a reply, in bounded time whatever a stranger puts in it.

Three heuristics read mail from outside: which part of a reply is new (the quoted history
below an "On ... wrote:" line is not), what an HTML-only reply says, and whether it is an
automatic answer. Each one's work is bounded by the size of its input, never by its shape:

- ``extract_reply`` looks for the first quote header ("On ... wrote:", "Am ... schrieb ...:",
  an Outlook "From:/Sent:" block, "-----Original Message-----") with mail-parser-reply's
  patterns for our languages. Run by ``re`` those backtrack for a time that grows with the
  square (and worse) of a run of blank lines, of spaces, or of a line repeating a keyword, and
  hold the GIL all along. So they are run by the ``regex`` engine, with a timeout and with the
  GIL released (``concurrent=True``), over a bounded view of the text: every run of white space
  made one space, never two blank lines in a row, each line cut to ``REPLY_LINE_CHARS``, and only
  the top ``REPLY_HEAD_CHARS`` characters (``REPLY_HEAD_LINES`` lines), where a reply's new part
  is. A header found there cuts the whole text at the same line and column; a reply with no
  header there (or one whose search timed out) is kept whole.
- ``html_to_text`` uses libxml2 (lxml), whose HTML parser is linear (the standard library's
  ``html.parser`` is quadratic on some malformed input in Python 3.11.7).
- ``is_auto_reply`` reads a handful of headers and the first characters of the subject.
"""

from __future__ import annotations

import functools
import re
from email.message import Message
from typing import Any

MAX_TEXT = 200_000  # characters of a reply kept; the rest is cut with a note
MAX_HTML = 300_000  # characters of HTML read for an HTML-only reply
REPLY_HEAD_CHARS = 20_000
REPLY_HEAD_LINES = 400
REPLY_LINE_CHARS = 1_000
REPLY_SEARCH_SECONDS = 0.25
LANGUAGES = ("en", "de", "fr", "es", "nl")
SUBJECT_CHARS = 1_000
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|autoreply|auto:|abwesenheit|"
    r"absence|vacation|away from (the )?office|r[ée]ponse automatique)",
    re.IGNORECASE,
)


def normalised_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its runs of white space made one space and trimmed,
    with no blank line at either end and never two in a row (linear: ``str.split`` only)."""
    lines: list[str] = []
    blank = True
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            if blank:
                continue
            blank = True
        else:
            blank = False
        lines.append(line)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _view(lines: list[str]) -> list[str]:
    """What the header search reads: the top of the reply, each line a prefix of the real one."""
    view: list[str] = []
    size = 0
    for line in lines[:REPLY_HEAD_LINES]:
        cut = line[:REPLY_LINE_CHARS]
        if size + len(cut) + 1 > REPLY_HEAD_CHARS:
            break
        view.append(cut)
        size += len(cut) + 1
    return view


@functools.cache
def _quote_header() -> Any:
    """mail-parser-reply's quote-header pattern for our languages, compiled for ``regex``."""
    import regex
    from mailparser_reply.parser import EmailMessage

    pattern = EmailMessage(text="", languages=list(LANGUAGES)).HEADER_REGEX.pattern
    return regex.compile(pattern, regex.MULTILINE | regex.IGNORECASE | regex.V0)


def prepare() -> None:
    """Import and compile what reading a reply needs (about 0.4 s holding the GIL), so that the
    server does it while it starts rather than in the middle of its first reply."""
    import lxml.etree  # noqa: F401

    _quote_header()


def quote_header_at(text: str) -> int | None:
    """Where the first quote header in ``text`` starts (None: none found in time)."""
    try:
        found = _quote_header().search(text, timeout=REPLY_SEARCH_SECONDS, concurrent=True)
    except TimeoutError:
        return None
    return found.start() if found is not None else None


def extract_reply(text: str) -> str:
    """The new part of a reply, without the quoted history below it."""
    lines = normalised_lines(text[: MAX_TEXT * 2])
    if not lines:
        return ""
    view = _view(lines)
    position = quote_header_at("\n".join(view))
    kept = lines
    if position is not None:
        # The same line and column in the real text (each view line is a prefix of its line).
        for index, line in enumerate(view):
            if position <= len(line):
                kept = [*lines[:index], lines[index] if position == len(line) else lines[index][:position]]
                break
            position -= len(line) + 1
    # Lines quoted with ">" that are left (replies without an "On ... wrote:" line).
    end = len(kept)
    while end and kept[end - 1].lstrip().startswith(">"):
        end -= 1
    reply = "\n".join(kept[:end]).strip()
    return reply or "\n".join(lines)


def html_to_text(html: str) -> str:
    """Readable text from an HTML-only reply (it is stored as text, never shown as HTML).

    libxml2 reads it in pieces and the tree is walked in Python, so the GIL is let go often."""
    import lxml.etree

    data = html[:MAX_HTML].encode("utf-8", "replace")
    if not data.strip():
        return ""
    parser = lxml.etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        for start in range(0, len(data), HTML_CHUNK):
            parser.feed(data[start : start + HTML_CHUNK])
        root = parser.close()
    except lxml.etree.LxmlError:
        return ""
    if root is None:
        return ""
    parts: list[str] = []
    hidden = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _HIDDEN:
                hidden += 1
            elif not hidden:
                parts.append("\n" if tag in _BLOCKS else "")
                parts.append(element.text or "")
            continue
        if tag in _HIDDEN:
            hidden -= 1
        elif not hidden and tag in _BLOCKS:
            parts.append("\n")
        if not hidden and element is not root:
            parts.append(element.tail or "")
    return "\n".join(normalised_lines("".join(parts)))


HTML_CHUNK = 16_384
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul",
                     "ol", "pre", "hr", "dd", "dt", "section", "article", "header", "footer", "address"})  # fmt: skip


def is_auto_reply(headers: Message, subject: str | None) -> bool:
    """Out-of-office and other machine answers (RFC 3834 Auto-Submitted and the usual hints)."""
    auto = str(headers.get("Auto-Submitted") or "")[:100].strip().lower()
    if auto and auto != "no":
        return True
    if headers.get("X-Autoreply") or headers.get("X-Autorespond") or headers.get("X-Auto-Response-Suppress"):
        return True
    if str(headers.get("Precedence") or "")[:100].strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    return bool(subject and AUTO_SUBJECT.match(subject[:SUBJECT_CHARS]))
