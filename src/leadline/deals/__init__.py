"""Deals: win (making the customer record), lose and reopen a prospect's deal."""
