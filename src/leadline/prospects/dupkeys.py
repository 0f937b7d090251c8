"""The keys that make two prospects likely duplicates, as SQL expressions over the ``prospects``
table, indexed (``ix_prospects_dup_*``, migration 0017) so that grouping and looking them up read an
index instead of computing them for every prospect.

The same SQL text on SQLite and PostgreSQL: only functions both have (``replace``, ``lower``,
``trim``, ``substr``, ``length``), plus ``instr``, which SQLite has and migration 0017 defines on
PostgreSQL (``strpos``). An index is used only by a query that spells its expression exactly as
the index does, so every query takes its expression from here. Stdlib only (the models import it).

* phone: the digits of the number, the last ten (``(512) 555-0101`` = ``+1 512.555.0101``);
* website: the host, without scheme, ``www.`` or path (``https://www.royal.com/about`` = ``royal.com``);
* name and city: lower case without spaces or punctuation, ``name|city`` (NULL without a city);
* email: the address (stored lower-case).
"""

from __future__ import annotations


def _strip(expression: str, characters: str) -> str:
    for character in characters:
        quoted = character.replace("'", "''")
        expression = f"replace({expression}, '{quoted}', '')"
    return expression


_DIGITS = _strip("phone", " -().+/")
PHONE_KEY = f"CASE WHEN length({_DIGITS}) > 10 THEN substr({_DIGITS}, length({_DIGITS}) - 9) ELSE {_DIGITS} END"

_HOST = "replace(replace(replace(lower(trim(website)), 'https://', ''), 'http://', ''), 'www.', '')"
WEBSITE_KEY = f"CASE WHEN instr({_HOST}, '/') > 0 THEN substr({_HOST}, 1, instr({_HOST}, '/') - 1) ELSE {_HOST} END"

NAME_CITY_KEY = _strip("lower(trim(name))", " .,'-&!\"") + " || '|' || " + _strip("lower(trim(city))", " .,'-")

EMAIL_KEY = "email"

#: reason -> the key's expression (the index's, exactly).
KEYS: dict[str, str] = {"email": EMAIL_KEY, "phone": PHONE_KEY, "website": WEBSITE_KEY, "name_city": NAME_CITY_KEY}

#: reason -> when a key says something (``{k}``: the key): seven digits at least, a host that is
#: not one many businesses share (``:shared``), both a name and a city.
VALID: dict[str, str] = {
    "email": "{k} <> ''",
    "phone": "length({k}) >= 7",
    "website": "{k} <> '' AND {k} NOT IN :shared",
    "name_city": "{k} NOT LIKE '|%' AND {k} NOT LIKE '%|'",
}

#: The indexes: name -> expression (the email has its unique index already).
INDEXES: dict[str, str] = {
    "ix_prospects_dup_phone": PHONE_KEY,
    "ix_prospects_dup_website": WEBSITE_KEY,
    "ix_prospects_dup_name_city": NAME_CITY_KEY,
}

#: PostgreSQL has strpos, not instr: the migration defines it (immutable, so an index may use it).
POSTGRES_INSTR = (
    "CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT strpos(haystack, needle)'"
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's autogenerate filter: it cannot compare these expression indexes (SQLite does not
    reflect them; PostgreSQL gives them back rewritten, with casts), so it leaves them out;
    ``tests/prospects/test_merging.py`` checks they exist and that the queries use them."""
    return not (type_ == "index" and name in INDEXES)
