"""How many SMS segments a text takes (what Twilio bills and how long a text may be).

A text in the GSM-7 alphabet takes 160 characters in one segment, 153 per segment when split
(the extended characters ``^{}\\[~]|€`` count twice); any other character makes the whole text
UCS-2: 70 in one segment, 67 per segment when split (characters outside the BMP, such as most
emoji, count twice: UTF-16 code units). Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC) - {"\x1b"}
_EXTENDED = frozenset(GSM_EXTENDED)


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM-7 | UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding, "units": self.units, "segments": self.segments,
                "perSegment": self.per_segment}  # fmt: skip


def count(text: str) -> Segments:
    """The encoding and segment count of ``text``."""
    if all(c in _BASIC or c in _EXTENDED for c in text):
        units = sum(2 if c in _EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return Segments(encoding, units, 1 if units else 0, single)
    return Segments(encoding, units, -(-units // multi), multi)
