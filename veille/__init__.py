"""Veille: French-first news intelligence with cited answers."""

__version__ = "0.1.0"
