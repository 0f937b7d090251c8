"""The maintained totals the dashboard and the weekly report read (:mod:`leadline.analytics.totals`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leadline.db import Base, PartialIndex


class AnalyticsTotal(Base):
    """How many things of one figure started on ``start_day`` and did it on ``event_day`` (local
    days of the configured zone, as ``date.toordinal()``; 0 where a figure has no start), per
    template, sender, tier, trade and grid-health band ('' or 0 where a figure is not kept by
    one). Signed: a figure that stops holding (a call cancelled) adds -1 on the day it stopped, so
    "as of the end of a week" is a sum over the days before it."""

    __tablename__ = "analytics_totals"
    __table_args__ = (
        # the dashboard's prospect cards: a week's most active prospects (``totals.CARD_SCORE``)
        PartialIndex("ix_analytics_totals_cards", "start_day", "n", "template", where="figure = 'cards.score'"),
    )

    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    start_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    template: Mapped[str] = mapped_column(String(100), primary_key=True)
    sender: Mapped[str] = mapped_column(String(40), primary_key=True)
    tier: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade: Mapped[str] = mapped_column(String(80), primary_key=True)
    band: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[float] = mapped_column(Float)
