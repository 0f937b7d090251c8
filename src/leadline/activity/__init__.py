"""The timeline: every thing done to, or heard from, a prospect (OutreachActivity)."""
