"""Quality assurance (质检): forms, samples, scorecards (model), their tables (queries)."""
