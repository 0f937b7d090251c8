"""Search across the app: prospects, customers, emails and calls from one box."""
