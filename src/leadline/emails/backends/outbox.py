"""The outbox backend: each message becomes a standard .eml file in a folder.

A file appears whole or not at all, even if the process is killed while it writes: the message
is built first, written to an unnamed file in the folder (Linux's ``O_TMPFILE``: a process
killed at any point leaves nothing behind), synced, and only then given its name. Where the file
system has no ``O_TMPFILE``, a temporary ``.part`` file is written and renamed instead; one left
by a killed process is removed when its send is settled (:meth:`OutboxBackend.written`).

Because the file is the message, the outbox can say afterwards whether a send went out: a
send whose process died is ``sent`` when its file exists and ``failed`` (it may be sent again)
when it does not, never ``unknown`` (see ``emails.sending.mark_stale_sends``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from leadline.clock import utc_now
from leadline.config import Settings, private_folder
from leadline.emails.backends import Accepted, Rejected
from leadline.emails.message import Outgoing, problem, shown

_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EEXIST}


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
            if not _write_unnamed(self.folder, target, data):
                _write_renamed(self.folder, target, data)
            _sync_folder(self.folder)
        except OSError as error:
            raise Rejected(
                f"cannot write to the outbox {self.folder}: {shown(error.strerror or str(error), quote=False)}"
            ) from None
        return Accepted(provider_id=None)

    def written(self, email_id: str) -> bool:
        """Whether the message of ``email_id`` is in the outbox (whole); a ``.part`` file a killed
        process left for it is removed."""
        for leftover in self.folder.glob(f".*-{email_id}.eml.*.part"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        return any(self.folder.glob(f"*-{email_id}.eml"))

    def close(self) -> None:
        pass


def _write_unnamed(folder: Path, target: Path, data: bytes) -> bool:
    """Write ``data`` to an unnamed file in ``folder``, sync it, then link it as ``target``.
    False when this file system (or system) cannot: the caller writes a named temporary file."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    try:
        # 0600: a message holds a prospect's address and an unsubscribe link.
        descriptor = os.open(folder, flag | os.O_WRONLY, 0o600)
    except OSError as error:
        if error.errno in _NO_TMPFILE:
            return False
        raise
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
        try:
            os.link(f"/proc/self/fd/{descriptor}", target, follow_symlinks=True)
        except OSError as error:
            if error.errno in _NO_TMPFILE:  # no /proc, or the name is taken: write it the other way
                return False
            raise
    finally:
        os.close(descriptor)
    return True


def _write_renamed(folder: Path, target: Path, data: bytes) -> None:
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
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


def _sync_folder(folder: Path) -> None:
    """The new name survives a power cut too."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
