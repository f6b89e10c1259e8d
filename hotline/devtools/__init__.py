"""Developer tooling: the demo, SIPp phones and their scenarios, embedded PostgreSQL and
Redis for a first look."""
