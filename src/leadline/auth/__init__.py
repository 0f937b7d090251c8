"""Accounts, sign-in sessions, API tokens and who may do what."""
