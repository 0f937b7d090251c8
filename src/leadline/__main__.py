"""The ``leadline`` command.

``prospects list`` is answered by a standard-library path when it can be (see
leadline/prospects/listing.py); everything else goes to the Typer application.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    # Whatever Leadline writes (the database and its -wal/-shm, the job queue, the outbox, backups,
    # exports, the secret key) is readable by its own user only: docs/configuration.md.
    os.umask(0o077)
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:2] == ["prospects", "list"]:
            from leadline.prospects.listing import fast_main

            code = fast_main(args[2:])
            if code is not None:
                return code
        from leadline.cli.main import run

        return run(args)
    except BrokenPipeError:
        return reader_gone()


def reader_gone() -> int:
    """What was reading the output has stopped (``leadline prospects list --json | head``): stop too,
    quietly, exit 1 (Click's answer to the same in its commands). What is left unwritten goes nowhere,
    so the interpreter's last flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1


if __name__ == "__main__":
    sys.exit(main())
