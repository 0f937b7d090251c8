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


def errors_of(error: Exception) -> FormErrors:
    """Every problem of a refused form, each beside its input; anything else is raised again."""
    if isinstance(error, ValidationError):
        problems = field_errors(error)
        status = 422
        line = one_line(problems)
    elif isinstance(error, LeadlineError):
        problems = [p for p in getattr(error, "errors", None) or [] if p.get("field")]
        if error.field and not any(p["field"] == error.field for p in problems):
            problems.insert(0, {"field": error.field, "message": error.message})
        status = error.status_code
        line = one_line(problems) if len(problems) > 1 else str(error)
    else:
        raise error
    found = FormErrors(line=line, status=status)
    for problem in problems:
        name = input_name(problem.get("field"))
        if name:
            found.fields.setdefault(name, str(problem["message"]))
    return found


def lines(text: str | None) -> list[str]:
    """A textarea with one item per line (objections) as a list; blank lines dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
