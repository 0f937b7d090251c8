"""Reading an Inbound Parse post (default or raw mode) into a reply, in bounded time.

SendGrid posts ``multipart/form-data``. In the default mode the fields are ``headers``
(the raw header block), ``text``, ``html``, ``from``, ``to``, ``subject``, ``envelope``,
``charsets``, ``SPF``, ``dkim`` and attachment files; ``text`` and ``html`` are in the charset
named in ``charsets``, not necessarily UTF-8. In raw mode the whole message is in ``email``.
Facts: ../shared/SENDGRID.md §3.

Everything here reads text a stranger wrote, so every step is bounded by the size of the
post, never by its shape: the form is read by python-multipart's streaming parser (at most
``MAX_PARTS`` parts, part headers of bounded size, never a nested MIME structure); a raw
message is read by the standard library's parser with at most ``MAX_PARTS`` parts, at most
``MAX_BOUNDARIES`` multipart levels, header values cut to ``HEADER_CHARS`` and a budget of
lines times levels; JSON fields by the bounded ``leadline.jsonin``; charsets only through
codecs that decode in linear time; and the text heuristics as ``mailtext`` says. Any post
that cannot be read raises :class:`NotAParsePost` (the endpoint then stores it raw).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import Compat32
from email.utils import getaddresses, parseaddr
from typing import Any, cast

from leadline import jsonin
from leadline.fields import clean_text, one_line, text_codec
from leadline.webhooks.events import storable
from leadline.webhooks.mailtext import MAX_HTML, MAX_TEXT, extract_reply, html_to_text, is_auto_reply

EMAIL_ID_RE = re.compile(r"email_[0-9A-HJKMNP-TV-Z]{26}")
MAX_PARTS = 500  # parts in a form, or in a raw message
MAX_BOUNDARIES = 50  # multipart levels and siblings declared in a raw message
LINE_BUDGET = 1_000_000  # lines of a raw message times the boundaries it declares, read at most
HEADER_CHARS = 2_000  # of any one header value
HEADER_LINES = 5_000  # header lines of a raw message, all its parts together (real mail: a few hundred)
HEADER_BLOCK_BYTES = 1_000_000  # of the header block
ADDRESS_CHARS = 10_000  # of a To/Cc list
JSON_FIELD_BYTES = 65_536  # of the `envelope` and `charsets` fields
KEPT_HEADERS = ("Message-ID", "In-Reply-To", "References", "Date", "Auto-Submitted", "Precedence", "X-Autoreply",
                "X-Autorespond", "X-Auto-Response-Suppress")  # fmt: skip
DKIM_RESULT = re.compile(r"@([^\s:,{}@]+)\s*:\s*([a-z]+)", re.IGNORECASE)


class NotAParsePost(ValueError):
    """The post cannot be read as an Inbound Parse reply (the message is one line)."""


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
    #: SendGrid saw SPF or DKIM pass for the sender's own domain (see ``sender_verified``).
    sender_verified: bool = False


def parse_post(content_type: str, body: bytes) -> ParsedReply:
    """The reply in a SendGrid Inbound Parse request body."""
    fields, files = read_form(content_type, body)
    if "email" in fields:
        reply = _from_raw(fields)
    elif "headers" in fields or "text" in fields or "html" in fields:
        reply = _from_fields(fields, files)
    else:
        raise NotAParsePost("no 'headers', 'text', 'html' or 'email' field: not an Inbound Parse post")
    reply.reply_text = extract_reply(reply.text)
    return reply


# --- the form --------------------------------------------------------------------------------


def read_form(content_type: str, body: bytes) -> tuple[dict[str, bytes], list[str]]:
    """The form's fields (the first of each name, raw bytes) and its files' names."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, params = parse_options_header(content_type[:1000])
    if kind != b"multipart/form-data":
        raise NotAParsePost("Inbound Parse posts are multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary:
        raise NotAParsePost("the multipart/form-data content type names no boundary")
    fields: dict[str, bytes] = {}
    files: list[str] = []
    part: dict[str, Any] = {}
    parts = 0

    def begin() -> None:
        nonlocal parts
        parts += 1
        if parts > MAX_PARTS:
            raise NotAParsePost(f"more than {MAX_PARTS} parts")
        part.clear()
        part.update(name=b"", value=b"", headers={}, data=[], keep=False, filename=None, field=None)

    def header_field(data: bytes, start: int, end: int) -> None:
        part["name"] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def header_end() -> None:
        part["headers"][part["name"].decode("latin-1").strip().lower()] = part["value"].decode("latin-1")
        part["name"], part["value"] = b"", b""

    def headers_finished() -> None:
        _, disposition = parse_options_header(part["headers"].get("content-disposition", "")[:HEADER_CHARS])
        name = disposition.get(b"name")
        filename = disposition.get(b"filename")
        if filename is not None:
            part["filename"] = filename.decode("utf-8", "replace") or "attachment"
        elif name is not None:
            part["field"] = name.decode("utf-8", "replace")
            part["keep"] = part["field"] not in fields

    def data(chunk: bytes, start: int, end: int) -> None:
        if part["keep"]:
            part["data"].append(chunk[start:end])

    def end() -> None:
        if part.get("filename") is not None:
            files.append(part["filename"][:300])
        elif part.get("keep"):
            fields[part["field"]] = b"".join(part["data"])

    callbacks: Any = {
        "on_part_begin": begin, "on_header_field": header_field, "on_header_value": header_value,
        "on_header_end": header_end, "on_headers_finished": headers_finished, "on_part_data": data,
        "on_part_end": end,
    }  # fmt: skip
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except FormParserError as error:
        raise NotAParsePost(f"not a readable multipart/form-data body ({_line(error)})") from None
    if not fields and not files:
        raise NotAParsePost("the multipart body has no parts")
    return fields, files


# --- decoding --------------------------------------------------------------------------------


def _line(error: BaseException) -> str:
    """An error as one short line (for a log line or a stored reason)."""
    return " ".join(str(error).split())[:300] or type(error).__name__


def decode(data: bytes | None, charset: Any = None) -> str:
    """``data`` as storable text in ``charset`` (UTF-8 when it names no usable codec)."""
    raw = data or b""
    # A charset Python does not know, or one that is no text encoding or decodes in quadratic time
    # (fields.text_codec): the part is read as UTF-8.
    name = (text_codec(charset) if isinstance(charset, str) and charset.strip() else None) or "utf-8"
    try:
        text = raw.decode(name, "replace")
    except Exception:  # a codec that cannot decode with "replace" (or is not a text codec)
        text = raw.decode("utf-8", "replace")
    return storable(text)  # type: ignore[no-any-return]


def _json_object(data: bytes | None) -> dict[str, Any]:
    """A small JSON object field (``envelope``, ``charsets``); anything else reads as {}."""
    if not data or len(data) > JSON_FIELD_BYTES:
        return {}
    try:
        value = jsonin.loads(data)
    except jsonin.NotJson:
        return {}
    return value if isinstance(value, dict) else {}


def _envelope(fields: dict[str, bytes]) -> tuple[list[str], str | None]:
    """The envelope's recipients and sender (``{"to": [...], "from": "..."}``), whatever its shape."""
    envelope = _json_object(fields.get("envelope"))
    to = envelope.get("to")
    recipients = [to] if isinstance(to, str) else [a for a in to if isinstance(a, str)] if isinstance(to, list) else []
    sender = envelope.get("from")
    return [a[:320] for a in recipients[:50]], sender[:320] if isinstance(sender, str) else None


def header_text(value: Any) -> str:
    """A header value with its RFC 2047 encoded words decoded, cut to ``HEADER_CHARS``."""
    text = str(value or "")[:HEADER_CHARS]
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # an encoded word that does not decode: keep it as it came
        return text


def _addresses(*values: str) -> list[str]:
    try:
        return [a for _, a in getaddresses([v[:ADDRESS_CHARS] for v in values]) if a]
    except Exception:  # the parser recurses on nested comments; such a list names nobody
        return []


def _sender(value: str) -> tuple[str | None, str | None]:
    try:
        name, address = parseaddr(value[:HEADER_CHARS])
    except Exception:
        return None, None
    return header_text(name) or None, address or None


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2].strip().strip(".").lower()


def _aligned(one: str, other: str) -> bool:
    """The same domain, or one a subdomain of the other (DMARC's relaxed alignment, without
    the public-suffix list: the shorter must have a dot, and nobody signs for a bare suffix)."""
    if not one or not other:
        return False
    if one == other:
        return True
    shorter, longer = sorted((one, other), key=len)
    return "." in shorter and longer.endswith("." + shorter)


def sender_verified(from_address: str | None, spf: str, dkim: str, envelope_from: str | None) -> bool:
    """SendGrid saw the sender's domain vouch for this mail: SPF pass for an envelope sender of
    that domain, or a DKIM pass signed by it (``dkim`` reads like ``{@example.com : pass}``)."""
    domain = _domain(from_address)
    if not domain:
        return False
    if spf.strip().lower().split(" ", 1)[:1] == ["pass"] and _aligned(_domain(envelope_from), domain):
        return True
    return any(
        result.lower() == "pass" and _aligned(signer.strip(".").lower(), domain)
        for signer, result in DKIM_RESULT.findall(dkim[:HEADER_CHARS])
    )


# --- the two modes ---------------------------------------------------------------------------


def _header_block(text: str) -> Message:
    return HeaderParser(policy=_BoundedHeaders()).parsestr(text[:HEADER_BLOCK_BYTES]) if text else Message()


def _from_fields(fields: dict[str, bytes], files: list[str]) -> ParsedReply:
    charsets = _json_object(fields.get("charsets"))
    text = decode(fields.get("text", b"")[: 4 * MAX_TEXT + 16], charsets.get("text"))
    html_bytes = fields.get("html")
    html = decode(html_bytes[: 4 * MAX_HTML], charsets.get("html")) if html_bytes is not None else None
    headers = _header_block(decode(fields.get("headers", b"")[:HEADER_BLOCK_BYTES]))
    if not text.strip() and html:
        text = html_to_text(html)
    sender = decode(fields.get("from", b"")[:HEADER_CHARS]) or header_text(headers.get("From"))
    from_name, from_address = _sender(sender)
    to_field = decode(fields.get("to", b"")[:ADDRESS_CHARS]) or str(headers.get("To") or "")
    recipients, envelope_from = _envelope(fields)
    recipients = _addresses(to_field, decode(fields.get("cc", b"")[:ADDRESS_CHARS])) + recipients
    subject = decode(fields.get("subject", b"")[: 4 * HEADER_CHARS]) or header_text(headers.get("Subject")) or None
    verified = _verified(fields, from_address, envelope_from)
    key_source = decode(fields.get("headers", b"")[:HEADER_BLOCK_BYTES]) + text
    return _reply(headers, from_name, from_address, recipients, subject, text, html, files, raw=False,
                  body=key_source, verified=verified)  # fmt: skip


def _verified(fields: dict[str, bytes], from_address: str | None, envelope_from: str | None) -> bool:
    spf = decode(fields.get("SPF", b"")[:200])
    dkim = decode(fields.get("dkim", b"")[:HEADER_CHARS])
    return sender_verified(from_address, spf, dkim, envelope_from)


def _from_raw(fields: dict[str, bytes]) -> ParsedReply:
    raw = _within_budget(fields["email"])
    message = _parse_message(raw)
    plain = rich = None
    files: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = str(part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        filename = _filename(part)
        kind = part.get_content_type()
        if disposition == "attachment" or filename:
            files.append(header_text(filename or "attachment")[:300])
        elif kind == "text/plain" and plain is None:
            plain = part
        elif kind == "text/html" and rich is None:
            rich = part
    text = _content(plain, 4 * MAX_TEXT + 16) if plain is not None else ""
    html = _content(rich, 4 * MAX_HTML)[:MAX_HTML] if rich is not None else None
    if not text.strip() and html:
        text = html_to_text(html)
    from_name, from_address = _sender(header_text(message.get("From")))
    recipients, envelope_from = _envelope(fields)
    recipients = _addresses(str(message.get("To") or ""), str(message.get("Cc") or "")) + recipients
    subject = header_text(message.get("Subject")) or decode(fields.get("subject", b"")[: 4 * HEADER_CHARS]) or None
    verified = _verified(fields, from_address, envelope_from)
    return _reply(message, from_name, from_address, recipients, subject, text, html, files, raw=True,
                  body=decode(raw[:65536]), verified=verified)  # fmt: skip


class _BoundedHeaders(Compat32):
    """compat32, with every header value cut to ``HEADER_CHARS`` as it is read (the standard
    library's parameter parsing takes time that grows with the square of a value's length), and
    (given a ``seen`` counter) at most ``HEADER_LINES`` header lines read in all: each lookup of a
    header walks them all, and a million cost seconds."""

    seen: list[int] | None = None

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        if self.seen is not None:
            self.seen[0] += len(sourcelines)
            if self.seen[0] > HEADER_LINES:
                raise NotAParsePost(f"the message has more than {HEADER_LINES:,} header lines")
        name, value = super().header_source_parse(sourcelines)
        return name, value[:HEADER_CHARS]


def _within_budget(raw: bytes) -> bytes:
    """The raw message, cut so that the parser's work (each line is checked against every
    enclosing boundary) stays within ``LINE_BUDGET``; too many boundaries: not read at all."""
    boundaries = _boundaries(raw)
    if boundaries > MAX_BOUNDARIES:
        raise NotAParsePost(f"the message declares more than {MAX_BOUNDARIES} multipart boundaries")
    lines = raw.count(b"\n")
    # The top header block too long is refused before the parser collects its lines (one a list item).
    if lines > HEADER_LINES and not _HEADER_END.search(raw, 0, _after_line(raw, HEADER_LINES)):
        raise NotAParsePost(f"the message has more than {HEADER_LINES:,} header lines")
    allowed = LINE_BUDGET // max(1, boundaries)
    if lines <= allowed:
        return raw
    return raw[: _after_line(raw, allowed)]  # the top, where the text parts are


_HEADER_END = re.compile(rb"\n\r?\n")
_BOUNDARY = re.compile(rb"boundary\s*=")


def _boundaries(raw: bytes, chunk: int = 1 << 20) -> int:
    """How many times ``raw`` declares a multipart boundary (``boundary=`` in any case): read lowered a
    megabyte at a time (with the next kilobyte, for a declaration across the cut), which is 3x quicker
    than a case-blind pattern and holds no second copy of a 40 MB message."""
    found = 0
    for start in range(0, len(raw), chunk):
        piece = raw[start : start + chunk + 1024].lower()
        found += sum(1 for match in _BOUNDARY.finditer(piece) if match.start() < chunk)
    return found


def _after_line(data: bytes, lines: int) -> int:
    """Where line number ``lines`` of ``data`` ends (it has more), in a few passes of bytes.count."""
    block, start, seen = 1 << 20, 0, 0
    while seen + data.count(b"\n", start, start + block) < lines:
        seen += data.count(b"\n", start, start + block)
        start += block
    low, high = start, min(start + block, len(data))  # the line ends in data[low:high]
    while low < high:
        middle = (low + high) // 2
        if seen + data.count(b"\n", start, middle + 1) < lines:
            low = middle + 1
        else:
            high = middle
    return low + 1


def _parse_message(raw: bytes) -> Message:
    parts = 0

    def factory(policy: Any = None) -> Message:
        nonlocal parts
        parts += 1
        if parts > MAX_PARTS:
            raise NotAParsePost(f"more than {MAX_PARTS} MIME parts")
        return Message(policy=policy) if policy is not None else Message()

    # (cast: typeshed knows compat32's own options only)
    policy: _BoundedHeaders = cast(Any, _BoundedHeaders()).clone(message_factory=factory, seen=[0])
    try:
        return BytesParser(policy=policy).parsebytes(raw)
    except RecursionError:
        raise NotAParsePost("the MIME structure is nested too deeply") from None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # an RFC 2231 name in a charset that does not decode
        return "attachment"
    return str(name) if name else None


def _content(part: Message, limit: int) -> str:
    """A text part's content, decoded from at most ``limit`` bytes."""
    payload = part.get_payload(decode=True)
    data = payload[:limit] if isinstance(payload, bytes) else b""
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed parameter list: read as UTF-8
        charset = None
    return decode(data, charset)


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
    verified: bool,
) -> ParsedReply:
    message_id = str(headers.get("Message-ID") or "").strip()
    key = message_id[:300] if message_id else "sha256:" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()
    threading = " ".join(str(headers.get(name) or "") for name in ("In-Reply-To", "References"))
    kept = {name: str(headers.get(name))[:1000] for name in KEPT_HEADERS if headers.get(name) is not None}
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[... cut: the reply is longer than {MAX_TEXT:,} characters]"
    # Every string stored under the stored-text rule (fields), whichever MIME part it came from: the
    # text and the HTML are free text (line breaks kept, other control characters removed), everything
    # else one line (a folded header unfolded, control characters removed).
    fields = dict(
        message_key=one_line(key),
        from_address=one_line(from_address or "").strip().lower()[:320] or None,
        from_name=one_line(from_name or "").strip()[:300] or None,
        to_addresses=[one_line(r).strip().lower()[:320] for r in dict.fromkeys(recipients)][:50],
        subject=one_line(subject or "").strip()[:1000] or None,
        text=clean_text(text),
        html=clean_text(html[:MAX_TEXT]) if html is not None else None,
        headers={name: one_line(value) for name, value in kept.items()},
        in_reply_to=re.findall(r"<[^<>\s]{1,300}>", one_line(threading[:20_000]))[:50],
        attachments=[one_line(name) for name in files[:100]],
        raw_mode=raw,
        auto_reply=is_auto_reply(headers, subject),
        sender_verified=verified,
    )
    return ParsedReply(**storable(fields))
