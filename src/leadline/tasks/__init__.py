"""Tasks: next steps from calls, follow-ups and things to do by hand; the `today` view."""
