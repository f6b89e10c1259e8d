"""Deterministic replay: the controller's journal of its inputs, and what a run produced
(docs/replay.md)."""
