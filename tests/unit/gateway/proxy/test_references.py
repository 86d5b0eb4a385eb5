"""The form of references a write may carry (gateway.proxy.references.check_form)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import Unprocessable
from gateway.proxy.references import check_form, references_of

_URN = "urn:uuid:0d6e7b4a-9c1f-4e8a-8d0e-1f2a3b4c5d6e"


def _plan(*references: object) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "subject": {"reference": "Patient/p1"},
        "activity": [{"detail": {"goal": [{"reference": r} for r in references]}}],
        "extension": [{"url": "x", "valueReference": {"reference": "Organization/o1"}}],
    }


def test_every_reference_at_any_depth_is_found_with_where_it_is() -> None:
    found = list(references_of(_plan("Goal/g1")))
    assert found == [
        ("CarePlan.subject.reference", "Patient/p1"),
        ("CarePlan.activity[0].detail.goal[0].reference", "Goal/g1"),
        ("CarePlan.extension[0].valueReference.reference", "Organization/o1"),
    ]


def test_an_activity_reference_element_is_walked_into() -> None:
    plan = {"resourceType": "CarePlan", "activity": [{"reference": {"reference": "Goal?x=y"}}]}
    assert list(references_of(plan)) == [("CarePlan.activity[0].reference.reference", "Goal?x=y")]


def test_literal_references_are_answered_once_each_with_their_first_place() -> None:
    assert check_form(_plan("Goal/g1", "Goal/g1")) == {
        "Patient/p1": "CarePlan.subject.reference",
        "Goal/g1": "CarePlan.activity[0].detail.goal[0].reference",
        "Organization/o1": "CarePlan.extension[0].valueReference.reference",
    }


def test_a_transactions_own_urn_is_accepted_only_when_named_local() -> None:
    assert "urn" not in str(check_form(_plan(_URN), frozenset({_URN})))
    with pytest.raises(Unprocessable):
        check_form(_plan(_URN))


@pytest.mark.parametrize(
    "reference",
    [
        "Goal?identifier=x",
        "Goal?",
        "Goal",
        "Goal/",
        "Goal/.",
        "Goal/..",
        "Goal/...",
        "Goal/g1/_history/2",
        "Goal/g 1",
        "goal/g1",
        "Horoscope/x",
        "AuditEvent/a1",
        "#g1",
        "http://example.org/fhir/Goal/g1",
        "//example.org/Goal/g1",
        "/Goal/g1",
        "Goal/" + "a" * 65,
        "",
        42,
        None,
        True,
    ],
)
def test_anything_but_a_literal_reference_of_a_served_type_is_refused_naming_where(reference: object) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_form(_plan(reference))
    assert refused.value.message.startswith("CarePlan.activity[0].detail.goal[0].reference:")


def test_contained_resources_are_refused() -> None:
    with pytest.raises(Unprocessable, match="contained"):
        check_form({**_plan("#g"), "contained": [{"resourceType": "Goal", "id": "g"}]})


@given(st.text(min_size=1, max_size=80))
def test_whatever_passes_is_exactly_type_slash_id(value: str) -> None:
    try:
        found = check_form(_plan(value))
    except Unprocessable:
        return
    kind, _, ident = value.partition("/")
    assert value in found and kind in {"Goal", "Patient", "CarePlan", "CareTeam", "Condition", "Consent"} | {
        "Organization",
        "Practitioner",
        "PractitionerRole",
    }
    assert ident and set(ident) - {"."} and all(c.isascii() and (c.isalnum() or c in "-.") for c in ident)
