"""Generated content (Phase 2 of the seed): posts made for a prospect."""
