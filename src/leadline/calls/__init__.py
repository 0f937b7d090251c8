"""Calls: booked, rescheduled, cancelled and logged calls, with their objections and outcomes."""
