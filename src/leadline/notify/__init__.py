"""Notifications: domain events (a reply, a bounce, a won deal) recorded once, delivered by the worker."""
