"""The client's goals in her own words, as she writes them herself: pure, FHIR JSON in and out.

`goal_text(text)` is the text she typed, cleaned (surrounding space trimmed, line ends made
\\n), or `ValueError` when it is empty, longer than `MAX_TEXT` characters or holds control
characters other than line ends.

`new_goal(patient, person, text, today)` is a ClientGoal about `patient` expressed by `person`
(she herself, or her guardian acting for her: a RelatedPerson), proposed (the team takes it
up with her), starting `today`.

`edited_goal(goal, patient, person, text)` is `goal` with the new text: only a goal about
`patient` expressed by `person` may be edited (`NotHers` otherwise), and nothing but
`description.text` changes — its status, labels, targets and links stay as the team left them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.fhir.reading import reference_of

__all__ = ["MAX_TEXT", "NotHers", "edited_goal", "goal_text", "is_hers", "new_goal"]

MAX_TEXT = 1000
_CLIENT_GOAL = "https://yhteys.fi/fhir/StructureDefinition/ClientGoal"


class NotHers(Exception):
    """The goal is not one she expressed about herself."""


def goal_text(text: str) -> str:
    """Her goal's text, cleaned; see the module doc."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise ValueError("write the goal in a few words")
    if len(cleaned) > MAX_TEXT:
        raise ValueError(f"a goal is at most {MAX_TEXT} characters")
    if any(not (c.isprintable() or c == "\n") for c in cleaned):
        raise ValueError("the goal holds characters that are not text")
    return cleaned


def is_hers(goal: Mapping[str, Any], patient: str, person: str) -> bool:
    """Whether `goal` is about `patient` and expressed by `person` (she, or her guardian)."""
    return reference_of(goal.get("subject")) == patient and reference_of(goal.get("expressedBy")) == person


def new_goal(patient: str, person: str, text: str, today: date) -> dict[str, Any]:
    """A goal she expresses; see the module doc."""
    return {
        "resourceType": "Goal",
        "meta": {"profile": [_CLIENT_GOAL]},
        "lifecycleStatus": "proposed",
        "description": {"text": goal_text(text)},
        "subject": {"reference": patient},
        "startDate": today.isoformat(),
        "expressedBy": {"reference": person},
    }


def edited_goal(goal: Mapping[str, Any], patient: str, person: str, text: str) -> dict[str, Any]:
    """`goal` with her new text; see the module doc."""
    if goal.get("resourceType") != "Goal" or not is_hers(goal, patient, person):
        raise NotHers()
    changed = copy.deepcopy(dict(goal))
    description = changed.get("description")
    changed["description"] = {**(description if isinstance(description, dict) else {}), "text": goal_text(text)}
    return changed
