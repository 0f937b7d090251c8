"""Senders: the From identities Leadline sends as, each with its own cap, warm-up, spacing,
window, status and health (docs/senders.md)."""
