"""Identifiers: readable slugs for prospects, time-sortable ids for everything else."""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``prefix_`` + a 26-character ULID: 48 bits of milliseconds, then 80 random bits.

    Ids made in one process are strictly increasing, so they sort by creation time
    even within one millisecond.
    """
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to count up
        _last_ms, _last_rand = ms, rand
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, max_length: int = 60) -> str:
    """``Royal Plumbing Co`` -> ``royal_plumbing_co``; accents folded, never empty."""
    folded = "".join(
        ch if ord(ch) < 128 else "" if unicodedata.category(ch) == "Mn" else " "
        for ch in unicodedata.normalize("NFKD", text)
    )
    slug = _NON_ALNUM.sub("_", folded.lower()).strip("_")
    slug = slug[:max_length].rstrip("_")
    return slug or "prospect"
