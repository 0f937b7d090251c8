"""Analytics: the dashboard, the weekly report, what works and the exports (read-only SQL across tables)."""
