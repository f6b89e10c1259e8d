"""The centre's configuration: queues, agents, not-ready reasons, users; the centre file
(model), changes applied everywhere (service), their tables (queries)."""
