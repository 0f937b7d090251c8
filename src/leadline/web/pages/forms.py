"""Forms on the pages: read what was submitted, and show a refusal as every field's error at once.

* ``read_form``: the submitted fields as ``{name: text}``, the CSRF token left out, each value
  stripped; a blank field is "not given" and dropped, unless it is named in ``keep_blank`` (an edit
  form, where a blank clears the field, as the API's null does).
* ``errors_of``: a domain error (``LeadlineError``) or a Pydantic ``ValidationError`` as a
  ``FormErrors``: each problem beside the input it names (``fields``) and all of them as the one
  line shown at the top of the form (``line``), with the HTTP status to answer.
* ``FormError``: a page's own refusal of one input (``Invalid`` naming the field).

Input names are the API's JSON names, camelCase (``prospectId``, ``scheduledAt``, ``gridHealth``):
the services' input models take them as they are (``CallBook.model_validate(values)``), and a
validation or domain error names the same field, so an error lands beside its input without a
conversion table. One-word names (``email``, ``reason``, ``stage``) read the same either way.
The list pages' filters are GET query parameters of bookmarkable URLs, not form inputs.
The macros that draw inputs with their errors are ``templates/app/_macros.html``.

Every page calls the same service functions as the CLI and the API; a refused change is caught
*outside* its unit of work, so the transaction has rolled back and nothing changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import Request
from pydantic import ValidationError

from leadline.errors import Invalid, LeadlineError
from leadline.schemas import field_errors, one_line

CSRF_FIELD = "csrf_token"


async def read_form(request: Request, *, keep_blank: tuple[str, ...] = ()) -> dict[str, str]:
    """The form's text fields (the CSRF token left out); blank ones are dropped unless named in ``keep_blank``."""
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == CSRF_FIELD or not isinstance(value, str):
            continue
        text = value.strip()
        if text or name in keep_blank:
            values[name] = text
    return values


class FormError(Invalid):
    """A page's own refusal of one input: ``FormError("template", "choose a template")``
    (a leading ``"template: "`` in the message is not repeated)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message.removeprefix(f"{field}: "), field=field)


@dataclass
class FormErrors:
    """What was wrong with a form: per input (``fields``), and all of it as the one line at the top."""

    fields: dict[str, str] = field(default_factory=dict)
    line: str = ""
    status: int = 422

    def __bool__(self) -> bool:
        return bool(self.line)


def input_name(name: str | None) -> str:
    """The input an error's field names: ``items.0.name`` is the ``items`` input."""
    return (name or "").split(".")[0]


#: Inputs whose label is not their name in words (``gridHealth`` reads "Grid health" by itself).
LABELS = {
    "prospectId": "Prospect", "scheduledAt": "When", "emailId": "Email", "at": "Send at", "body": "Message",
    "lostReason": "Why lost", "stageReason": "Reason", "doNotContactReason": "Do-not-contact reason",
    "q": "Search", "text": "Note", "grid_min": "Grid health ≥", "grid_max": "Grid health ≤",
}  # fmt: skip


def label_of(name: str) -> str:
    """How a person knows an input: its label (``gridHealth`` -> ``Grid health``)."""
    if name in LABELS:
        return LABELS[name]
    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r" \1", name.replace("_", " ")).lower().strip()
    return words[:1].upper() + words[1:]


#: Why a message was not sent, said for a person (the CLI's wording names flags and ids).
_NOT_SENT = {
    "already_sent": "They already got this{what}{when}. Send it anyway, or choose another.",
    "cap": "Today's sending limit is used up. Choose a time to send it later.",
    "do_not_contact": "This prospect is marked do-not-contact.",
    "suppressed": "This address must not be emailed again (it bounced, complained or unsubscribed).",
    "no_email": "This prospect has no email address.",
}


def not_sent(code: str | None, detail: str | None, *, what: str = "") -> str:
    """Why an email did not go (a send outcome's ``code`` and ``detail``), in plain words."""
    if code in _NOT_SENT:
        found = re.search(r"\d{4}-\d{2}-\d{2}", detail or "")
        return _NOT_SENT[code].format(what=f" {what}" if what else "", when=f" on {found.group(0)}" if found else "")
    text = re.sub(r"\s*\([^)]*_[0-9A-Z]{10,}[^)]*\)", "", (detail or "not sent").split("; --")[0])  # no ids
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def errors_of(error: Exception) -> FormErrors:
    """Every problem of a refused form, each beside its input; anything else is raised again."""
    if isinstance(error, ValidationError):
        problems = field_errors(error)
        status = 422
        line = one_line(problems)
    elif isinstance(error, LeadlineError):
        problems = [p for p in getattr(error, "errors", None) or [] if p.get("field")]
        if error.on_page:  # the page's own wording (the message tells a CLI user what to type)
            problems = [p for p in problems if p["field"] != error.field]
            problems.insert(0, {"field": error.field or "", "message": error.on_page})
        elif error.field and not any(p["field"] == error.field for p in problems):
            problems.insert(0, {"field": error.field, "message": error.message})
        status = error.status_code
        line = one_line(problems) if len(problems) > 1 else str(error)
    else:
        raise error
    if problems:  # on a page, each input by its label
        line = "; ".join(f"{label_of(input_name(p['field']))}: {p['message']}" if p.get("field") else str(p["message"])
                         for p in problems)  # fmt: skip
    found = FormErrors(line=line, status=status)
    for problem in problems:
        name = input_name(problem.get("field"))
        if name:
            found.fields.setdefault(name, str(problem["message"]))
    return found
