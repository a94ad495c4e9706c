"""Evaluation harness: gold facts → metrics → thresholds. Drives rag/ like a user."""
