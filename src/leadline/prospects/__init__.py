"""Prospects: the businesses a team sells to, their stages and their import/export."""
