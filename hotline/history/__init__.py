"""Call history: the recorder turning calls into rows (service), the call log, repeat
calls, and the history reads (queries)."""
