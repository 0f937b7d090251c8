"""The characters stored text may not hold (the stored-text rule, :mod:`leadline.fields`), and how a
terminal is shown one: the standard library only, so the fast ``prospects list`` path can use it too."""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, the Unicode line and paragraph separators, and lone surrogates.
NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: The same, but tab, line feed and carriage return are allowed (free text, lists typed one per line).
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


#: What a terminal is not shown as it is: what free text may not hold, and a carriage return that does
#: not end a line (it sends the cursor back, so what follows is written over what came before).
_NOT_SHOWN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")


def escaped_controls(value: str) -> str:
    """``value`` with every character free text may not hold (a control character but line breaks and
    tabs, a lone surrogate), and a carriage return that ends no line, written as its escape (``\\x1b``,
    ``\\r``): stored text as a terminal shows it, so that nothing stored can clear the screen, hide a
    link, retitle the window or write over what is shown before it."""
    if _NOT_SHOWN.search(value) is None:
        return value
    return _NOT_SHOWN.sub(lambda found: ascii(found.group())[1:-1], value)
