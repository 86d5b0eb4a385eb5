"""Her goals in her own words: what she may write, and that she edits only her own."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.own.goals import MAX_TEXT, NotHers, edited_goal, goal_text, new_goal

HER = "Patient/demo-client"


def test_her_text_is_cleaned_and_bounded() -> None:
    assert goal_text("  Haluan\r\noppia.  ") == "Haluan\noppia."
    assert goal_text("x" * MAX_TEXT) == "x" * MAX_TEXT
    for bad in ("", "   ", "x" * (MAX_TEXT + 1), "a\x00b", "a\x1bb"):
        with pytest.raises(ValueError):
            goal_text(bad)


def test_a_new_goal_is_hers_and_proposed() -> None:
    goal = new_goal(HER, HER, " Haluan oppia uimaan. ", date(2026, 12, 4))
    assert goal["subject"] == goal["expressedBy"] == {"reference": HER}
    assert goal["description"] == {"text": "Haluan oppia uimaan."} and goal["lifecycleStatus"] == "proposed"


def test_she_edits_only_the_text_of_her_own_goal() -> None:
    goal = new_goal(HER, HER, "Vanha", date(2026, 12, 4)) | {
        "id": "g1",
        "meta": {"versionId": "3", "security": [{"code": "PSY"}]},
    }
    changed = edited_goal(goal, HER, HER, "Uusi")
    assert changed["description"]["text"] == "Uusi" and goal["description"]["text"] == "Vanha"
    assert {k: v for k, v in changed.items() if k != "description"} == {
        k: v for k, v in goal.items() if k != "description"
    }
    for other in ({"expressedBy": {"reference": "PractitionerRole/x"}}, {"subject": {"reference": "Patient/other"}},
                  {"resourceType": "CarePlan"}):  # fmt: skip
        with pytest.raises(NotHers):
            edited_goal(goal | other, HER, HER, "Uusi")
