"""The shared kernel: events, lifecycle tables, value and id types, settings, tasks.

Imports nothing else of the project (checked by lint-imports)."""
