"""The outbox backend: each message becomes a standard .eml file in a folder."""

from __future__ import annotations

import os
from pathlib import Path

from leadline.clock import utc_now
from leadline.config import PRIVATE_FILE, Settings, private_folder
from leadline.emails.backends import Accepted, Rejected
from leadline.emails.message import Outgoing


class OutboxBackend:
    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.outbox_path)

    def send(self, message: Outgoing) -> Accepted:
        moment = message.date or utc_now()
        target = self.folder / f"{moment:%Y%m%d-%H%M%S}-{message.email_id}.eml"
        partial = target.with_suffix(".eml.part")
        try:
            private_folder(self.folder)
            # 0600: a message holds a prospect's address and an unsubscribe link.
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message.mime().as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(target)  # a reader never sees half a message
        except OSError as error:
            raise Rejected(f"cannot write to the outbox {self.folder}: {error.strerror or error}") from None
        return Accepted(provider_id=None)

    def close(self) -> None:
        pass
