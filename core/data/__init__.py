"""Datasets: read files, detect and convert formats to canonical chat rows, validate, generate, measure."""
