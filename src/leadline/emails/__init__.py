"""Emails: templates, sending through a backend, and what happened to each message."""
