"""The outgoing message: body with the legal footer, headers, and its MIME form."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from itsdangerous import BadSignature, URLSafeSerializer

from leadline.config import Settings

SMTP_POLICY = SMTP.clone(max_line_length=998)
#: What a header value may not hold: a line break would start a header of its own, and NUL and
#: the other control characters are refused by mail servers (a tab is ordinary white space).
HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Longest subject the email row holds.
MAX_SUBJECT = 500


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: ``content_type`` may carry parameters (``text/calendar; method=REQUEST``)."""

    filename: str
    content_type: str
    data: bytes

    def parts(self) -> tuple[str, str, dict[str, str]]:
        kind, *params = (part.strip() for part in self.content_type.split(";"))
        maintype, subtype = kind.split("/", 1)
        return maintype, subtype, dict(p.split("=", 1) for p in params if "=" in p)


@dataclass
class Outgoing:
    """Everything a backend needs to send one email."""

    email_id: str
    to_email: str
    to_name: str | None
    from_email: str
    from_name: str
    subject: str
    text: str
    html: str
    message_id: str
    template: str
    unsubscribe_url: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)
    api_key_env: str | None = None  # the sender's own SendGrid key: the NAME of the variable that holds it

    def headers(self) -> dict[str, str]:
        """Extra headers (beyond From/To/Subject/Reply-To) every backend sets."""
        found = {
            "List-Unsubscribe": f"<{self.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if self.in_reply_to:
            found["In-Reply-To"] = self.in_reply_to
            found["References"] = " ".join(self.references or [self.in_reply_to])
        return found

    def mime(self) -> EmailMessage:
        # Long header values (the unsubscribe URL) are folded, never turned into encoded-words.
        message = EmailMessage(policy=SMTP_POLICY)
        # Address objects, not formatted strings: a name that is not ASCII and holds "(" or ";" is
        # then encoded whole, where a re-parsed string would be folded into a header no parser reads.
        message["From"] = Address(display_name=self.from_name, addr_spec=self.from_email)
        message["To"] = Address(display_name=self.to_name or "", addr_spec=self.to_email)
        message["Subject"] = self.subject
        message["Message-ID"] = self.message_id
        if self.date is not None:
            message["Date"] = format_datetime(self.date)
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        for name, value in self.headers().items():
            message[name] = value
        message["X-Leadline-Email-Id"] = self.email_id
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        for item in self.attachments:
            maintype, subtype, params = item.parts()
            message.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename, params=params)
        return message


def problem(message: Outgoing) -> str | None:
    """Why ``message`` cannot be sent as it stands (None: it can), in words a person can act on.

    Every backend sends only a message that passes, so a bad stored value (a contact name with a
    line break, an address that cannot be encoded) fails that one message, before anything is
    claimed or written, and never reaches a header."""
    headers = (
        ("contact name", message.to_name), ("email address", message.to_email), ("subject", message.subject),
        ("sender name", message.from_name), ("sender address", message.from_email),
        ("reply-to address", message.reply_to),
    )  # fmt: skip
    for label, value in headers:
        found = HEADER_CONTROL.search(value or "")
        if found:
            what = "a line break" if found.group() in "\r\n" else f"a control character (U+{ord(found.group()):04X})"
            return f"the {label} {shown(value or '')} contains {what}"
    if len(message.subject) > MAX_SUBJECT:
        return f"the subject is {len(message.subject)} characters long; at most {MAX_SUBJECT}"
    for label, value in (("text", message.text), ("HTML", message.html)):
        if "\x00" in value:
            return f"the message {label} contains a NUL character"
    try:
        message.mime().as_bytes()
    except Exception as error:  # whatever the email package refuses, say what it said
        return f"cannot build the message: {shown(str(error), quote=False)}"
    return None


def shown(value: str, *, limit: int = 80, quote: bool = True) -> str:
    """``value`` safe to print on one line: control characters and line separators escaped, at most
    ``limit`` characters."""
    text = _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], value)
    text = text if len(text) <= limit else text[: limit - 1] + "\u2026"
    return f"'{text}'" if quote else text


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret(), salt="leadline.unsubscribe")


def unsubscribe_token(settings: Settings, email_id: str) -> str:
    """A signed, unguessable token naming the email (and so the address) to unsubscribe."""
    return str(_serializer(settings).dumps(email_id))


def read_unsubscribe_token(settings: Settings, token: str) -> str | None:
    try:
        value = _serializer(settings).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def unsubscribe_url(settings: Settings, email_id: str) -> str:
    return f"{settings.base_url}/unsubscribe/{unsubscribe_token(settings, email_id)}"


#: Leadline's own pages an email may link to that say nothing about interest: the unsubscribe
#: page, and the settings page (notifications' "preferences"). Their links are sent with click
#: tracking off, and a click on one never counts (webhooks/clicks.py).
OWN_PATHS = ("/unsubscribe/", "/settings")


def is_leadline_link(settings: Settings, url: str) -> bool:
    """Whether ``url`` is one of Leadline's own unsubscribe or preference links: under this
    server's ``base_url``, or an unsubscribe link this server signed (sent before ``base_url``
    changed)."""
    url = url.strip()
    base = settings.base_url.rstrip("/")
    if base and url.lower().startswith(base.lower() + "/"):
        path = url[len(base) :].split("?", 1)[0].split("#", 1)[0]
        if any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in OWN_PATHS):
            return True
    found = _UNSUBSCRIBE_PATH.search(url)
    return found is not None and read_unsubscribe_token(settings, found.group(1)) is not None


_UNSUBSCRIBE_PATH = re.compile(r"^https?://[^/?#]+(?:/[^?#]*)?/unsubscribe/([A-Za-z0-9_.\-]+)/?(?:[?#].*)?$")


def untracked_link(url: str, label: str) -> str:
    """An HTML link SendGrid must not rewrite: ``clicktracking=off`` before ``href`` is SendGrid's
    per-link opt-out (../shared/SENDGRID.md §6.8). The plain-text part has no per-link opt-out:
    the SendGrid backend sends every message with plain-text click tracking off (``enable_text``)."""
    return f'<a clicktracking=off href="{html_lib.escape(url)}">{label}</a>'


def untracked(html: str, url: str) -> str:
    """``html`` with every plain ``<a href="url">`` to ``url`` given click tracking off (a body
    stored before links were sent so, such as a send scheduled earlier)."""
    plain = f'<a href="{html_lib.escape(url)}"'
    return html.replace(plain, f'<a clicktracking=off href="{html_lib.escape(url)}"') if plain in html else html


def footer_text(settings: Settings, url: str, name: str | None = None) -> str:
    """The signature (``name``: the sender's, else LEADLINE_SENDER_NAME), postal address and opt-out link."""
    lines = ["", "--", name or settings.sender_name]
    if settings.sender_address:
        lines.append(settings.sender_address)
    lines.append(f"Not interested? Unsubscribe with one click: {url}")
    return "\n".join(lines) + "\n"


def footer_html(settings: Settings, url: str, name: str | None = None) -> str:
    address = f"<br>{html_lib.escape(settings.sender_address)}" if settings.sender_address else ""
    return (
        '<p style="color:#666;font-size:12px;margin-top:24px">'
        f"{html_lib.escape(name or settings.sender_name)}{address}<br>"
        f"Not interested? {untracked_link(url, 'Unsubscribe')} with one click.</p>"
    )


#: A web address in a plain-text body (``http://`` or ``https://`` up to white space or a quote
#: or bracket); trailing punctuation is the sentence's, not the address's.
_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+")
_TRAILING = ".,;:!?"


def _linked(text: str, untracked: Callable[[str], bool] | None) -> str:
    """``text`` escaped for HTML, each web address in it made a link (a tracked one, unless
    ``untracked`` says it is not to be)."""
    parts: list[str] = []
    last = 0
    for found in _URL.finditer(text):
        url = found.group().rstrip(_TRAILING)
        end = found.start() + len(url)
        if len(url) <= len("https://"):
            continue
        parts.append(html_lib.escape(text[last : found.start()]))
        if untracked is not None and untracked(url):
            parts.append(untracked_link(url, html_lib.escape(url)))
        else:
            parts.append(f'<a href="{html_lib.escape(url)}">{html_lib.escape(url)}</a>')
        last = end
    parts.append(html_lib.escape(text[last:]))
    return "".join(parts)


def text_to_html(text: str, *, links: bool = False, untracked: Callable[[str], bool] | None = None) -> str:
    """An HTML part made from the plain text (open tracking needs one). With ``links``, web
    addresses become links (SendGrid tracks clicks in HTML links only), except those
    ``untracked`` names, which are sent with click tracking off."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]

    def block(paragraph: str) -> str:
        inner = _linked(paragraph, untracked) if links else html_lib.escape(paragraph)
        return "<p>" + inner.replace("\n", "<br>") + "</p>"

    inner = "".join(block(p) for p in paragraphs)
    return f'<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5">{inner}</div>'


def with_footer(
    settings: Settings, url: str, text: str, html: str | None, *, name: str | None = None
) -> tuple[str, str]:
    """The text and HTML parts with the footer (signed ``name``, the sender's) below the body."""
    body_html = html if html else text_to_html(text, links=True, untracked=lambda u: is_leadline_link(settings, u))
    if "</body>" in body_html:
        body_html = body_html.replace("</body>", footer_html(settings, url, name) + "</body>", 1)
    else:
        body_html = body_html + footer_html(settings, url, name)
    return text.rstrip("\n") + "\n" + footer_text(settings, url, name), body_html


def sender_domain(address: str | Settings) -> str:
    """The domain of a From address (a Message-ID's right-hand side), or of LEADLINE_SENDER_EMAIL."""
    email = address if isinstance(address, str) else address.sender_email
    return email.rsplit("@", 1)[-1] or "leadline.invalid"
