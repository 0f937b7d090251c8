"""Customers: won deals, their service, fee and results."""
