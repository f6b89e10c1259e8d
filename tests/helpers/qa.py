"""The quality-assurance form and marks the QA tests score calls with (through the API, on the
inspector's page, end to end)."""

from __future__ import annotations

FORM = {"form_id": "std", "name": "Standard", "sections": [
    {"title": "Opening", "items": [
        {"key": "greeting", "label": "Greeting", "weight": 1, "max_score": 10},
        {"key": "identity", "label": "Verified identity", "weight": 2, "max_score": 5,
         "fatal": True, "error_class": "major"}]},
    {"title": "Handling", "items": [
        {"key": "accuracy", "label": "Accurate answer", "weight": 3, "max_score": 10,
         "error_class": "important"},
        {"key": "closing", "label": "Closing", "weight": 2, "max_score": 4}]}]}


def marks(g: float, i: float, a: float, c: float, fatal: bool = False) -> list[dict]:
    return [{"key": "greeting", "score": g}, {"key": "identity", "score": i,
                                              "fatal_error": fatal},
            {"key": "accuracy", "score": a}, {"key": "closing", "score": c}]


__all__ = ["FORM", "marks"]
