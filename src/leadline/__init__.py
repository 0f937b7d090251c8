"""Leadline: a self-hosted CRM for outbound sales."""

__version__ = "0.1.0"
