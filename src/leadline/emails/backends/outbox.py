"""The outbox backend: each message becomes a standard .eml file in a folder.

A file appears whole or not at all: the message is built first, written to a temporary file
in the same folder, synced, then renamed into place; on any failure the temporary file is
removed, so the folder never holds a partial or empty message.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from leadline.clock import utc_now
from leadline.config import Settings, private_folder
from leadline.emails.backends import Accepted, Rejected
from leadline.emails.message import Outgoing, problem, shown


class OutboxBackend:
    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.outbox_path)

    def send(self, message: Outgoing) -> Accepted:
        why = problem(message)
        if why is not None:
            raise Rejected(why)
        data = message.mime().as_bytes()
        moment = message.date or utc_now()
        target = self.folder / f"{moment:%Y%m%d-%H%M%S}-{message.email_id}.eml"
        try:
            private_folder(self.folder)
            # mkstemp makes the file 0600: a message holds a prospect's address and an unsubscribe link.
            handle, name = tempfile.mkstemp(dir=self.folder, prefix=f".{target.name}.", suffix=".part")
            partial = Path(name)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                partial.replace(target)  # a reader never sees half a message
            except BaseException:
                with contextlib.suppress(OSError):
                    partial.unlink()
                raise
        except OSError as error:
            raise Rejected(
                f"cannot write to the outbox {self.folder}: {shown(error.strerror or str(error), quote=False)}"
            ) from None
        return Accepted(provider_id=None)

    def close(self) -> None:
        pass
