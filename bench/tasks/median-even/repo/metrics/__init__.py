"""Summarise latency samples: averages, spread, percentiles, histograms."""
