"""Email jobs: scheduled sends whose time has come; sends left in flight by a dead process."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from leadline.config import Settings
from leadline.db import unit_of_work
from leadline.emails import service
from leadline.emails.backends import get_backend
from leadline.emails.flows import deliver_scheduled_waiting, mark_stale_sends
from leadline.jobs import Periodic, job

ACTOR = "worker:emails"
log = logging.getLogger("leadline.emails")


@job("emails.send_scheduled", periodic=Periodic("emails.send_scheduled", every_minutes=1))
def send_scheduled(settings: Settings) -> None:
    with unit_of_work(settings, readonly=True) as session:
        due = service.due_scheduled(session)
    if not due:
        return
    backend = get_backend(settings)
    try:
        for email_id in due:
            try:
                deliver_scheduled_waiting(settings, backend, email_id, actor=ACTOR)
            except SQLAlchemyError:
                raise  # the database is away: the job runs again next minute
            except Exception:  # one email's problem must not stop the others (a stale claim is settled later)
                log.exception("scheduled email %s not sent", email_id)
    finally:
        backend.close()


@job("emails.mark_stale", periodic=Periodic("emails.mark_stale", every_minutes=5))
def mark_stale(settings: Settings) -> None:
    mark_stale_sends(settings, actor=ACTOR)
