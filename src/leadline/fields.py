"""Pydantic field types shared by every input schema (one wording everywhere).

The stored-text rule (docs/architecture.md, "Stored text"): no text Leadline stores or looks up holds a
control character (NUL included: PostgreSQL refuses it in text) or an unpaired surrogate (not UTF-8).
One-line fields (names, subjects, ids, emails, reasons, ...: every ``str`` of an
:class:`~leadline.schemas.InputModel` unless marked otherwise) refuse them, line breaks included; free
text (:data:`FreeText`: notes, reply bodies) keeps its line breaks and tabs and loses the rest; lists typed
in a textarea (:data:`TextLines`: gaps, objections) keep line breaks as separators. Whole numbers are
bounded by what their columns hold (PostgreSQL ``INTEGER``: 32 bits).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from leadline.addresses import EMAIL_RE
from leadline.controls import NOT_ONE_LINE, NOT_TEXT
from leadline.errors import Invalid
from leadline.times import parse_duration, parse_moment, parse_when

# --- stored text ---------------------------------------------------------------------------------

TextKind = Literal["line", "free", "lines"]

# The characters each kind may not hold (leadline.controls: shared with the CLI's fast path).
_NOT_ONE_LINE = NOT_ONE_LINE
_NOT_TEXT = NOT_TEXT
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_ANY_BREAK = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _described(char: str) -> str:
    if char == "\x00":
        return "must not contain a NUL character"
    if char in _LINE_BREAKS:
        return "must be one line (no line breaks)"
    if "\ud800" <= char <= "\udfff":
        return f"is not valid text (a lone surrogate U+{ord(char):04X})"
    if char == "\t":
        return "must not contain a tab"
    return f"must not contain control characters (U+{ord(char):04X})"


def digits(text: str) -> bool:
    """Only the digits 0-9, at least one: what ``int`` reads as a whole number. (``str.isdigit`` also
    says yes to ``²`` and ``①``, which ``int`` refuses, and to other scripts' digits, which it reads.)"""
    return text.isascii() and text.isdigit()


def text_problem(value: str, kind: TextKind = "line") -> str | None:
    """What is wrong with ``value`` under the stored-text rule, in plain words; None when it is fine.

    Free text is never wrong (:func:`clean_text` removes what it may not hold)."""
    if kind == "free":
        return None
    found = (_NOT_ONE_LINE if kind == "line" else _NOT_TEXT).search(value)
    return _described(found.group()) if found else None


def clean_text(value: str) -> str:
    """Free text as stored: CR LF and lone CR become LF; other controls and lone surrogates go."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_TEXT.sub("", value) if _NOT_TEXT.search(value) else value


def one_line(value: str) -> str:
    """One-line text from outside that cannot be refused (a mail's subject or sender's name, kept as it
    came): line breaks and tabs become a space (a folded header reads as one line), other control
    characters and lone surrogates go."""
    if _NOT_ONE_LINE.search(value) is None:
        return value
    return _NOT_ONE_LINE.sub("", _ANY_BREAK.sub(" ", value.replace("\r\n", "\n")))


def require_one_line(value: str, field: str) -> str:
    """For services that take plain text from a shell: ``value`` if it is one line, else Invalid naming ``field``."""
    if problem := text_problem(value):
        raise Invalid(problem, field=field)
    return value


def text_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("stored_text", message)


def _one_line(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)):
        raise text_error(problem)
    return value


def _free(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class TextRule:
    """Marks a field's kind of text for :class:`~leadline.schemas.InputModel` (one-line unless marked)."""

    kind: TextKind


#: One line of text: no control characters, no line breaks (the default for an InputModel's ``str``).
#: Use it where there is no InputModel: query and form parameters.
OneLine = Annotated[str, TextRule("line"), AfterValidator(_one_line)]
#: Free text (notes, reply bodies): line breaks and tabs kept, CR LF made LF, other controls removed.
FreeText = Annotated[str, TextRule("free"), BeforeValidator(_free)]
#: Marks a list typed one item per line (a textarea): its text and items may hold line breaks (the
#: field's own validator splits or joins them), no other control characters.
TextLines = TextRule("lines")


def _rule_in(annotation: Any) -> TextRule | None:
    for part in getattr(annotation, "__metadata__", ()):
        if isinstance(part, TextRule):
            return part
    for arg in get_args(annotation):
        found = arg if isinstance(arg, TextRule) else _rule_in(arg)
        if found is not None:
            return found
    return None


def text_kinds(fields: dict[str, FieldInfo]) -> dict[str, TextKind]:
    """Each field's kind of text, by name and by alias (the fields not listed are one-line)."""
    kinds: dict[str, TextKind] = {}
    for name, info in fields.items():
        rule = next((m for m in info.metadata if isinstance(m, TextRule)), None) or _rule_in(info.annotation)
        if rule is not None and rule.kind != "line":
            kinds[name] = rule.kind
            if info.alias:
                kinds[info.alias] = rule.kind
    return kinds


def with_text_rule(title: str, kinds: dict[str, TextKind], data: dict[Any, Any]) -> dict[Any, Any]:
    """``data`` (a model's raw input) under the stored-text rule: free text cleaned, and every other text
    (list items included) refused with an error naming its field when it breaks the rule."""
    texts = [value for value in data.values() if type(value) is str]
    if len(texts) == len(data) and not _NOT_ONE_LINE.search("".join(texts)):
        return data  # the usual case (an import's row): nothing to clean or refuse, one search
    errors: list[Any] = []
    cleaned: dict[Any, Any] | None = None
    for key, value in data.items():
        kind = kinds.get(key, "line")
        if isinstance(value, str):
            if kind == "free":
                text = clean_text(value)
                if text is not value:
                    cleaned = cleaned if cleaned is not None else dict(data)
                    cleaned[key] = text
            elif problem := text_problem(value, kind):
                errors.append({"type": text_error(problem), "loc": (key,), "input": value})
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, str) and (problem := text_problem(item, "lines" if kind == "lines" else "line")):
                    errors.append({"type": text_error(problem), "loc": (key, index), "input": item})
                    break
    if errors:
        raise ValidationError.from_exception_data(title, errors)
    return cleaned if cleaned is not None else data


# --- text encodings named from outside ----------------------------------------------------------

#: Codecs Python has that are not text encodings a file or a mail part is written in, and that decode
#: slowly or not at all: punycode (and idna through it) take time that grows with the square of the
#: input, and "undefined" refuses everything. Bytes-to-bytes codecs (hex, base64, rot13) are not text.
NOT_TEXT_CODECS = frozenset({"idna", "punycode", "undefined"})


def text_codec(name: str) -> str | None:
    """The codec a file or a mail part names (``cp1252``, ``latin-1``, ``UTF-8``), by its canonical name;
    None when Python knows no such codec or it is not one to read outside text with (above)."""
    import codecs

    try:
        info = codecs.lookup(name.strip()[:60])
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in NOT_TEXT_CODECS:
        return None
    return info.name


# --- whole numbers: what their columns hold ------------------------------------------------------

#: PostgreSQL ``INTEGER`` (SQLAlchemy ``Integer``), the type of every whole-number column a person sets
#: (SQLite's hold 64 bits: the smaller is the rule). Every ``int`` of an input schema is bounded inside it.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# http(s), a host with at least one dot (letters of any script, digits, hyphens), an optional
# port, then anything without spaces.
_URL_RE = re.compile(r"^https?://(?:[\w-]+\.)+[\w-]{2,}\.?(?::\d{1,5})?(?:[/?#]\S*)?$", re.IGNORECASE)


def _url(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        url = value if "://" in value else f"https://{value}"
        if len(url) > 1000 or not _URL_RE.match(url):
            raise ValueError(f"{value!r} is not a web address (https://...)")
        return url
    return value


# --- a person's or a business's contact: address, phone, website, time zone -----------------------

_PHONE_OK = re.compile(r"^[0-9+().\-\s/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)


def blank_to_none(value: Any) -> Any:
    """Text trimmed, and nothing (None) for blank text: an optional field left empty in a form or a file."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _optional_text(value: Any) -> str | None:
    """Blank as None (:func:`blank_to_none`); anything but text refused."""
    value = blank_to_none(value)
    if value is not None and not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _email(value: Any) -> Any:
    value = _optional_text(value)
    if value is None:
        return None
    ascii_form = _ascii_domain(value)
    if len(ascii_form) > 320 or not EMAIL_RE.match(ascii_form):
        raise ValueError(f"{value!r} is not a valid email address")
    return ascii_form.lower()


def _ascii_domain(address: str) -> str:
    """An address with an internationalised domain (``info@bäckerei-müller.de``) as the DNS, mail
    servers, SendGrid and its events spell it (``info@xn--bckerei-mller-9hbc.de``): kept in that one
    form, so suppressions, matching and re-imports see one address. Other addresses unchanged."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{unicodedata.normalize('NFC', domain).lower().encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _phone(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError("must be text")
    digits = sum(map(str.isdigit, value))
    if not _PHONE_OK.match(value) or digits < 7 or digits > 20:
        raise ValueError(f"{value!r} is not a phone number")
    return value


def _website(value: Any) -> Any:
    value = _optional_text(value)
    if value is None:
        return None
    url = value if "://" in value else f"https://{value}"
    if len(url) > 500 or not _URL_RE.match(url):
        raise ValueError(f"{value!r} is not a website address")
    return url


def _zone(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone (use an IANA name such as America/Chicago)") from None
    return str(value)


#: A moment: ISO date and time (wall-clock in the configured zone unless it has an offset).
When = Annotated[datetime, BeforeValidator(parse_when)]
#: A due date: a date alone (09:00 local) or a date and time.
Moment = Annotated[datetime | date, BeforeValidator(parse_moment)]
#: Seconds: 1500, "25m", "1h30m", "90s", "25:00"; 0 to 12 hours.
Duration = Annotated[int, BeforeValidator(parse_duration), Field(ge=0, le=12 * 3600)]
WebUrl = Annotated[str | None, BeforeValidator(_url)]  # _url checks the length
#: An email address (:mod:`leadline.addresses`' syntax), its domain as the DNS spells it, lower case.
Email = Annotated[str | None, BeforeValidator(_email)]
#: A phone number as typed: 7 to 20 digits and the usual punctuation, an extension allowed.
Phone = Annotated[str | None, BeforeValidator(_phone)]
#: A business's website (https:// added when left out; 500 characters at most).
Website = Annotated[str | None, BeforeValidator(_website)]
#: An IANA time zone name.
ZoneName = Annotated[str | None, BeforeValidator(_zone)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
#: Notes and other free text: up to 20,000 characters, line breaks kept (see :data:`FreeText`).
LongText = Annotated[FreeText | None, Field(max_length=20000)]
