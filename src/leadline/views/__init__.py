"""Saved views: a named filter and sort of a list page (prospects, emails, calls, customers)."""
