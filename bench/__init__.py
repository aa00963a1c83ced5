"""Benchmark scripts; each prints a markdown table (python -m bench.<name>)."""
