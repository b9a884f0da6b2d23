"""Benchmarks: each script prints a markdown table comparing us with a baseline, side by side."""
