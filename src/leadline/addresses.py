"""One syntax of an email address, for every check of one: a prospect's, a sender's, a suppression's,
a planned send's recipient. Standard library only (read paths and the quick CLI load it without
pydantic).

The WHATWG "valid e-mail address" syntax (what browsers check for ``<input type=email>``), with one
dot required in the domain: the addresses Leadline writes to are on the public internet.
"""

from __future__ import annotations

import re

EMAIL_RE = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)
