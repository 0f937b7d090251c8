"""The numbers that say what works, one module per section. Definitions: docs/analytics.md.

* :mod:`.common`: rates, the asked-for week and day, one snapshot per read;
* :mod:`.dashboard`: the seed's dashboard (and the live page's data version);
* :mod:`.report`: the weekly report;
* :mod:`.what_works`: templates, objections, conversion, timing, forecast;
* :mod:`.exports`: the CSV / JSON exports.

Everything is computed from the records when asked for, with aggregate SQL
(:mod:`leadline.analytics.queries`); nothing is stored. Read-only: services never commit,
and these never write. Each takes the settings of its caller's unit of work.
"""
