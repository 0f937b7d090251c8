"""Read-only SQL for the dashboard, the weekly report and the "what works" tables, one module per
section: :mod:`.common`, :mod:`.dashboard`, :mod:`.what_works`.

``analytics/`` is the one named exception to "domains talk through services": it reads
every table directly, with aggregate SQL only (COUNT / SUM / CASE / GROUP BY in the
database; rows are never loaded into Python to be counted). Nothing here writes.

Every function takes a SQLAlchemy ``Connection`` (or ``Session``) and returns plain numbers.
SQLite and PostgreSQL share the SQL except for JSON access and local-time arithmetic,
which :class:`.common.Dialect` spells for each.
"""
