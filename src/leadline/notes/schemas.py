"""Note shapes on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from leadline.fields import FreeText
from leadline.schemas import ApiModel, InputModel

#: The longest note taken (a few pages of text).
MAX_NOTE_CHARS = 10_000


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("cannot be empty")
    return value


#: A note's text: free text (line breaks kept), not blank, at most MAX_NOTE_CHARS characters.
NoteText = Annotated[FreeText, Field(max_length=MAX_NOTE_CHARS), AfterValidator(_not_blank)]


class NoteWrite(InputModel):
    """A new note, or a note's new text."""

    text: NoteText


class NoteRead(ApiModel):
    id: str
    prospect_id: str
    text: str
    author: str
    created_at: datetime
    edited_at: datetime | None = None
    edited_by: str | None = None
