"""Domain errors. Services raise these; each shell (HTTP, CLI, worker) maps them once.

Every error carries a one-line message a user can act on and, where one input is to
blame, the name of that field (in the API's camelCase form when it differs). A message that
tells a CLI user what to type next also carries ``on_page``: the same advice for a person in the
web app (which button to press), shown there instead.
"""

from __future__ import annotations


class LeadlineError(Exception):
    """Base of every error a user is meant to see."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, on_page: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.on_page = on_page

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(LeadlineError):
    status_code = 404
    code = "not_found"


class Invalid(LeadlineError):
    """Input that breaks a rule. ``errors`` lists every problem when there are several."""

    status_code = 422
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        on_page: str | None = None,
    ) -> None:
        super().__init__(message, field=field, on_page=on_page)
        self.errors = errors or ([{"field": field, "message": message}] if field else [])

    @classmethod
    def together(cls, problems: list[Invalid]) -> Invalid:
        """Several refusals of one request as one error listing every problem (a form shows them all
        at once); the first names the field. One problem is returned as it is."""
        if len(problems) == 1:
            return problems[0]
        first, *rest = problems
        message = "; ".join([first.message, *(str(p) for p in rest)])
        return cls(message, field=first.field, errors=[e for p in problems for e in p.errors])


class Conflict(LeadlineError):
    status_code = 409
    code = "conflict"


class Unavailable(LeadlineError):
    """Something the server needs is missing or down (not the user's input)."""

    status_code = 503
    code = "unavailable"


class Forbidden(LeadlineError):
    """Not allowed for who is acting (someone else's note, for a non-admin)."""

    status_code = 403
    code = "forbidden"
