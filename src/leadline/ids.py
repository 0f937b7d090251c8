"""Identifiers: readable slugs for prospects, time-sortable ids for everything else."""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata

# base32 in Crockford's alphabet (no I, L, O, U): sortable, readable, case-insensitive;
# encoded ten bits (two characters) at a time.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def new_id(prefix: str) -> str:
    """``prefix_`` + 26 characters: 48 bits of milliseconds, then 80 random bits, in base32.

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
    value = (ms << 80) | rand  # 128 bits -> 13 pairs of 5-bit characters (130 bits)
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10)])


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
#: Letters that do not decompose into a base letter and an accent (NFKD leaves them whole).
_TRANSLITERATE = str.maketrans({
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS", "đ": "d", "Đ": "D",
    "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "ı": "i", "ħ": "h", "Ħ": "H", "ŀ": "l",
    "Ŀ": "L", "ŉ": "n", "ŋ": "ng", "Ŋ": "NG", "ſ": "s", "ĸ": "k", "’": "'",
})  # fmt: skip


def slugify(text: str, *, max_length: int = 60) -> str:
    """``Royal Plumbing Co`` -> ``royal_plumbing_co``; accents folded and letters transliterated
    (``Søren's Heating`` -> ``soren_s_heating``), never empty."""
    if text.isascii():
        folded = text
    else:
        folded = "".join(
            ch if ord(ch) < 128 else "" if unicodedata.category(ch) == "Mn" else " "
            for ch in unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        )
    slug = _NON_ALNUM.sub("_", folded.lower()).strip("_")
    slug = slug[:max_length].rstrip("_")
    return slug or "prospect"
