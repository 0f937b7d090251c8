"""Reading an Inbound Parse post (default or raw mode) into a reply.

SendGrid posts ``multipart/form-data``. In the default mode the fields are ``headers``
(the raw header block), ``text``, ``html``, ``from``, ``to``, ``subject``, ``envelope``,
``charsets`` and attachment files; ``text`` and ``html`` are in the charset named in
``charsets``, not necessarily UTF-8. In raw mode the whole message is in ``email``.
Facts: ../shared/SENDGRID.md §3. The multipart body is parsed with the standard
library's MIME parser so that every field keeps its raw bytes until we decode it.
"""

from __future__ import annotations

import email
import hashlib
import json
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from leadline.webhooks.events import storable

MAX_TEXT = 200_000  # characters of a reply kept; the rest is cut with a note
EMAIL_ID_RE = re.compile(r"email_[0-9A-HJKMNP-TV-Z]{26}")
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|autoreply|auto:|abwesenheit|"
    r"absence|vacation|away from (the )?office|r[ée]ponse automatique)",
    re.IGNORECASE,
)


class NotAParsePost(ValueError):
    pass


@dataclass
class ParsedReply:
    message_key: str
    from_address: str | None
    from_name: str | None
    to_addresses: list[str]
    subject: str | None
    text: str
    html: str | None
    headers: dict[str, str]
    in_reply_to: list[str]
    attachments: list[str] = field(default_factory=list)
    raw_mode: bool = False
    auto_reply: bool = False
    reply_text: str = ""


def parse_post(content_type: str, body: bytes) -> ParsedReply:
    """The reply in a SendGrid Inbound Parse request body."""
    if "multipart/form-data" not in content_type.lower():
        raise NotAParsePost("Inbound Parse posts are multipart/form-data")
    envelope = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    container = email.message_from_bytes(envelope + body, policy=policy.compat32)
    if not container.is_multipart():
        raise NotAParsePost("the multipart body has no parts")
    fields: dict[str, bytes] = {}
    files: list[str] = []
    for part in container.get_payload():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if filename:
            files.append(str(filename))
        elif isinstance(name, str):
            fields[name] = data
    if "email" in fields:
        reply = _from_raw(fields)
    elif "headers" in fields or "text" in fields or "html" in fields:
        reply = _from_fields(fields, files)
    else:
        raise NotAParsePost("no 'headers', 'text', 'html' or 'email' field: not an Inbound Parse post")
    reply.reply_text = extract_reply(reply.text)
    return reply


def _utf8(data: bytes | None) -> str:
    return storable((data or b"").decode("utf-8", "replace"))  # type: ignore[no-any-return]


def _charset(charsets: dict[str, Any], key: str) -> str:
    name = charsets.get(key) or "utf-8"
    try:
        "".encode(str(name))
    except LookupError:
        return "utf-8"
    return str(name)


def _from_fields(fields: dict[str, bytes], files: list[str]) -> ParsedReply:
    try:
        charsets = json.loads(_utf8(fields.get("charsets")) or "{}")
        if not isinstance(charsets, dict):
            charsets = {}
    except ValueError:
        charsets = {}
    text = storable(fields.get("text", b"").decode(_charset(charsets, "text"), "replace"))
    html_bytes = fields.get("html")
    html = storable(html_bytes.decode(_charset(charsets, "html"), "replace")) if html_bytes is not None else None
    header_block = _utf8(fields.get("headers"))
    headers = HeaderParser(policy=policy.compat32).parsestr(header_block) if header_block else Message()
    if not text.strip() and html:
        text = html_to_text(html)
    from_name, from_address = parseaddr(_utf8(fields.get("from")) or headers.get("From", ""))
    to_field = _utf8(fields.get("to")) or headers.get("To", "")
    recipients = [a for _, a in getaddresses([to_field, _utf8(fields.get("cc"))]) if a]
    try:
        envelope = json.loads(_utf8(fields.get("envelope")) or "{}")
        recipients += [str(a) for a in envelope.get("to") or [] if isinstance(a, str)]
    except (ValueError, AttributeError):
        pass
    subject = _utf8(fields.get("subject")) or headers.get("Subject")
    return _reply(
        headers, from_name, from_address, recipients, subject, text, html, files, raw=False, body=header_block + text
    )


def _from_raw(fields: dict[str, bytes]) -> ParsedReply:
    raw = fields["email"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    text = _content(plain) if plain is not None else ""
    html = _content(rich) if rich is not None else None
    if not text.strip() and html:
        text = html_to_text(html)
    files = [part.get_filename() or "attachment" for part in message.iter_attachments()]
    from_name, from_address = _address(message.get("From"))
    recipients = [a for _, a in getaddresses([str(message.get("To") or ""), str(message.get("Cc") or "")]) if a]
    try:
        envelope = json.loads(_utf8(fields.get("envelope")) or "{}")
        recipients += [str(a) for a in envelope.get("to") or [] if isinstance(a, str)]
    except (ValueError, AttributeError):
        pass
    subject = str(message.get("Subject") or "") or _utf8(fields.get("subject")) or None
    compat = email.message_from_bytes(raw, policy=policy.compat32)
    return _reply(
        compat, from_name, from_address, recipients, subject, text, html, files, raw=True, body=_utf8(raw[:65536])
    )


def _content(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError, KeyError):
        payload = part.get_payload(decode=True) or b""
        return storable(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload))  # type: ignore[no-any-return]


def _address(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    addresses = getattr(value, "addresses", None)
    if addresses:
        first: Address = addresses[0]
        return (first.display_name or None), (first.addr_spec or None)
    name, addr = parseaddr(str(value))
    return name or None, addr or None


def _reply(
    headers: Message,
    from_name: str | None,
    from_address: str | None,
    recipients: list[str],
    subject: str | None,
    text: str,
    html: str | None,
    files: list[str],
    *,
    raw: bool,
    body: str,
) -> ParsedReply:
    message_id = (headers.get("Message-ID") or headers.get("Message-Id") or "").strip()
    key = message_id[:300] if message_id else "sha256:" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()
    threading = " ".join(str(headers.get(name) or "") for name in ("In-Reply-To", "References"))
    kept = {
        name: str(headers.get(name))[:1000]
        for name in (
            "Message-ID",
            "In-Reply-To",
            "References",
            "Date",
            "Auto-Submitted",
            "Precedence",
            "X-Autoreply",
            "X-Autorespond",
            "X-Auto-Response-Suppress",
        )
        if headers.get(name) is not None
    }
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[... cut: the reply was {len(text):,} characters]"
    # Every string made storable (no NUL, no lone surrogate), whichever MIME part it came from.
    fields = dict(
        message_key=key,
        from_address=(from_address or "").strip().lower() or None,
        from_name=(from_name or "").strip() or None,
        to_addresses=[r.strip().lower() for r in dict.fromkeys(recipients)][:50],
        subject=(subject or "").strip()[:1000] or None,
        text=text,
        html=html[:MAX_TEXT] if html is not None else None,
        headers=kept,
        in_reply_to=re.findall(r"<[^<>\s]+>", threading)[:50],
        attachments=files[:100],
        raw_mode=raw,
        auto_reply=is_auto_reply(headers, subject),
    )
    return ParsedReply(**storable(fields))


def is_auto_reply(headers: Message, subject: str | None) -> bool:
    """Out-of-office and other machine answers (RFC 3834 Auto-Submitted and the usual hints)."""
    auto = str(headers.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return True
    if headers.get("X-Autoreply") or headers.get("X-Autorespond") or headers.get("X-Auto-Response-Suppress"):
        return True
    if str(headers.get("Precedence") or "").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    return bool(subject and AUTO_SUBJECT.match(subject))


def extract_reply(text: str) -> str:
    """The new part of a reply, without the quoted history below it."""
    from mailparser_reply import EmailReplyParser

    cleaned = text.replace("\r\n", "\n")
    try:
        latest = EmailReplyParser(languages=["en", "de", "fr", "es", "nl"]).parse_reply(cleaned)
    except Exception:  # a parser bug must not lose the reply: keep it whole
        latest = None
    result = (latest or cleaned).strip()
    if not result:
        result = cleaned.strip()
    # Lines quoted with ">" that the parser left (replies without an "On ... wrote:" line).
    lines = result.split("\n")
    while lines and lines[-1].lstrip().startswith(">"):
        lines.pop()
    return "\n".join(lines).strip() or cleaned.strip()


class _Text(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML-only reply (it is stored as text, never shown as HTML)."""
    parser = _Text()
    parser.feed(html[: MAX_TEXT * 5])
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
