"""Reports: the figures over a period from history (figures), their SQL (queries)."""
