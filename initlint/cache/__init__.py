"""The on-disk cache: per-file facts and findings as data (never pickle), keyed by content,
version and settings, and the findings kept per project state.
"""
