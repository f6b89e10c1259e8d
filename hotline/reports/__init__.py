"""Reports: the figures over a period from history: their rules and formulas (model), their
SQL (queries)."""
