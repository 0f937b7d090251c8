"""Proposals as documents (filled in by the next commit)."""
