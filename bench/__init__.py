"""Benchmarks: one script per benchmark; results are committed under bench/results/."""
