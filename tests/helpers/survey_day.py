"""A day of survey answers worked by hand in tests/unit/test_survey_figures.py, and stored
through SQL in tests/integration/test_survey_store.py."""

from __future__ import annotations

from hotline.survey.model import Answer

#: Eight calls, worked by hand below (scale 1-5: 1-2 satisfied, 4-5 dissatisfied)
DAY = [
    Answer(1, 10, "a1", "billing", "billing", "billing_office"),
    Answer(2, 9, "a1", "billing", "billing", "billing_office"),
    Answer(3, 8, "a1", "billing", "billing", "billing_office"),
    Answer(4, 6, "a1", "billing", "billing", "billing_office"),
    Answer(5, 0, "a2", "fault", "fault", "repair_crew"),
    Answer(1, 7, "a2", "fault", "fault", "repair_crew"),
    Answer(None, 9, "a2", "fault", "fault", "repair_crew"),  # no satisfaction answer
    Answer(2, None, "a2", "general", "general", "service_office"),  # hung up before the NPS
]

__all__ = ["DAY"]
