"""Saved views: save, list (yours and the shared ones), remove (yours; an admin any).

A view keeps the list page's URL query as it was (filters, sort, columns): opening it is opening
that URL, so the page's own rules read it, as they read a bookmark. The query is checked to be a
URL query (no scheme, no path) and cleaned of paging (a view starts on the first page)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from leadline.errors import Conflict, Forbidden, Invalid, NotFound
from leadline.ids import new_id
from leadline.views.models import SavedView
from leadline.views.schemas import ViewCreate, ViewRead

PAGING = {"cursor", "page", "done", "ok"}


def _clean(query: str) -> str:
    text = query.lstrip("?")
    if any(mark in text for mark in ("://", "#", "\\")) or text.startswith("/"):
        raise Invalid("must be the query of a list page, like status=new&tier=1", field="params")
    pairs = [(k, v) for k, v in parse_qsl(text, keep_blank_values=False) if k not in PAGING]
    return urlencode(pairs)


def url_of(view: SavedView) -> str:
    return f"/{view.page}" + (f"?{view.query}" if view.query else "")


def read(view: SavedView) -> ViewRead:
    return ViewRead(id=view.id, name=view.name, page=view.page, params=view.query, owner=view.owner,
                    shared=view.shared, created_at=view.created_at, url=url_of(view))  # fmt: skip


def save(session: Session, data: ViewCreate, *, owner: str) -> SavedView:
    name = " ".join(data.name.split())
    if not name:
        raise Invalid("must not be empty", field="name")
    taken = session.scalar(
        select(SavedView.id).where(SavedView.owner == owner, SavedView.page == data.page, SavedView.name == name)
    )
    if taken is not None:
        raise Conflict(f"you already have a view named {name!r} of {data.page}", field="name")
    view = SavedView(id=new_id("view"), name=name, page=data.page, query=_clean(data.params), owner=owner,
                     shared=data.shared)  # fmt: skip
    session.add(view)
    session.flush()
    return view


def visible(session: Session, user: str, page: str | None = None) -> list[SavedView]:
    """Your views and the shared ones, by page then name."""
    query = select(SavedView).where(or_(SavedView.owner == user, SavedView.shared.is_(True)))
    if page is not None:
        query = query.where(SavedView.page == page)
    return list(session.scalars(query.order_by(SavedView.page, SavedView.name, SavedView.id)))


def remove(session: Session, view_id: str, *, user: str, admin: bool) -> None:
    view = session.get(SavedView, view_id)
    if view is None or (view.owner != user and not view.shared):
        raise NotFound(f"no view {view_id!r}", field="viewId")
    if view.owner != user and not admin:
        raise Forbidden("only its owner or an admin can remove a shared view", field="viewId")
    session.delete(view)
