"""Comparison runs (比对批次) and funding periods (资助周期) in the API."""
