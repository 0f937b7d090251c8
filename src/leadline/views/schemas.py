from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from leadline.schemas import ApiModel, InputModel

ViewPage = Literal["prospects", "emails", "calls", "customers"]


class ViewCreate(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    page: ViewPage
    params: Annotated[str, Field(max_length=1000, description="The list page's URL query: filters, sort, columns.")] = (
        ""
    )
    shared: bool = Field(False, description="Everyone sees it (else only you).")


class ViewRead(ApiModel):
    id: str
    name: str
    page: ViewPage
    params: str
    owner: str
    shared: bool
    created_at: datetime
    url: str
