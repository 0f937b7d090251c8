"""The ``leadline`` command line: the root app is ``leadline.cli.main`` (one sub-app per domain,
each in its domain's ``cli.py``); what the commands share is in ``leadline.cli._out``."""
