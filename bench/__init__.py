"""Benchmarks of Comptoir (see docs/benchmarks.md)."""
