"""Recordings: checksum, duration, retention (service), their table (queries)."""
