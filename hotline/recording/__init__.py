"""Recordings: naming, integrity, completion and reconciliation with the call records."""
