"""The processes: the controller, the platform that starts everything, the CLI.

The top of the import graph: nothing imports this package (checked by lint-imports)."""
