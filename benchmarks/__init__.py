"""Benchmarks that read real data from ../shared/data and skip where it is absent."""
