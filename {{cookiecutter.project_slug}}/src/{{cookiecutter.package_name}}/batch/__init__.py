"""Batch scoring: a table of raw rows scored by one pinned model version."""
