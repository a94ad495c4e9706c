"""Briefings: stories across outlets, their verified points, digests stored and rendered."""
