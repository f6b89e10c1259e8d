"""Work orders (工单): lifecycle and time limits (model), their tables (queries)."""
