"""Proposals as documents: versioned, read and accepted (or declined) by the prospect at a private link."""
