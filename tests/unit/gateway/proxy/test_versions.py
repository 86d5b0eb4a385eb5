"""An earlier version hides what the current version hides, even before its label was added."""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.access.seam import Withheld
from gateway.demo import demo_bundle
from gateway.fhir.labels import PSY, Label
from gateway.proxy.redaction import redact
from gateway.proxy.versions import content_name, named, redact_version

DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
PLAN = DEMO["CarePlan/demo-plan"]
HIDDEN: frozenset[Label] = frozenset({PSY})
LABEL_URL = "https://yhteys.fi/fhir/StructureDefinition/plan-security-label"


def _unlabelled(part: dict[str, Any]) -> dict[str, Any]:
    """`part` as it was before its label was added."""
    part = copy.deepcopy(part)
    part["extension"] = [e for e in part.get("extension", []) if e["url"] != LABEL_URL]
    if not part["extension"]:
        del part["extension"]
    return part


def _before_labels() -> dict[str, Any]:
    """The demo plan as an earlier version in which no part was labelled yet."""
    version: dict[str, Any] = copy.deepcopy(PLAN)
    for element in ("activity", "goal", "addresses", "contributor"):
        version[element] = [_unlabelled(part) for part in version.get(element, [])]
    return version


def _shown(resource: dict[str, Any] | Withheld) -> dict[str, Any]:
    assert not isinstance(resource, Withheld)
    return resource


def test_parts_labelled_later_are_hidden_in_the_version_before_the_label() -> None:
    old = _before_labels()
    assert "demo-goal-wellbeing" in json.dumps(_shown(redact(old, HIDDEN)))  # its own labels hide nothing
    view = _shown(redact_version(old, PLAN, HIDDEN))
    text = json.dumps(view)
    for hidden in ("demo-goal-wellbeing", "demo-need-anxiety", "demo-role-psych-nurse", "demo-role-psychiatrist"):
        assert hidden not in text
    assert view == _shown(redact(PLAN, HIDDEN))  # the same content shows as the current version shows it


def test_visible_parts_of_an_earlier_version_stay_as_they_were() -> None:
    old = copy.deepcopy(PLAN)
    old["description"] = "the first draft"
    old["contributor"] = [c for c in old["contributor"] if c["reference"] != "Patient/demo-client"]
    view = _shown(redact_version(old, PLAN, HIDDEN))
    assert view["description"] == "the first draft"
    assert {c["reference"] for c in view["contributor"]} == {
        "PractitionerRole/demo-role-curator",
        "PractitionerRole/demo-role-social-worker",
        "PractitionerRole/demo-role-youth-worker",
    }


def test_an_unnamed_part_that_differs_from_every_visible_current_part_is_removed() -> None:
    """Activities without an id cannot be paired: a changed one may be the hidden one."""
    old = _before_labels()
    for activity in old["activity"]:
        activity["detail"]["description"] += " (luonnos)"
    view = _shown(redact_version(old, PLAN, HIDDEN))
    assert "activity" not in view


def test_activities_with_ids_are_paired_by_id() -> None:
    current = copy.deepcopy(PLAN)
    for number, activity in enumerate(current["activity"]):
        activity["id"] = f"a{number}"
    old = copy.deepcopy(current)
    for activity in old["activity"]:
        activity["detail"]["description"] += " (luonnos)"
        activity.pop("extension", None)  # no label, no sector yet
    hidden_ids = {a["id"] for a in current["activity"] if "PSY" in json.dumps(a)}
    view = _shown(redact_version(old, current, HIDDEN))
    assert hidden_ids and {a["id"] for a in view["activity"]} == {f"a{n}" for n in range(4)} - hidden_ids


def test_nothing_hidden_now_leaves_the_version_as_its_own_labels_make_it() -> None:
    old = _before_labels()
    old["description"] = "draft"
    assert redact_version(old, PLAN, frozenset()) == redact(old, frozenset())


def test_a_version_withheld_by_its_own_labels_stays_withheld_and_input_is_untouched() -> None:
    old = copy.deepcopy(PLAN)
    old.setdefault("meta", {})["security"] = [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}
    ]
    before = copy.deepcopy(old), copy.deepcopy(PLAN)
    assert isinstance(redact_version(old, PLAN, HIDDEN), Withheld)
    assert (old, PLAN) == before


def test_a_content_name_names_what_is_shown_and_not_the_stores_bookkeeping() -> None:
    view = _shown(redact(PLAN, HIDDEN))
    stored = {**view, "meta": {**view.get("meta", {}), "versionId": "7", "lastUpdated": "2026-12-03T08:00:00Z"}}
    stored["meta"]["source"] = "#another-request"
    assert content_name(stored) == content_name(view) == content_name(json.loads(json.dumps(view)))
    assert len(content_name(view)) == 32 and int(content_name(view), 16) >= 0
    changed = copy.deepcopy(view)
    changed["activity"][0]["detail"]["description"] = "Toisin."
    tagged = {**view, "meta": {**view.get("meta", {}), "tag": [{"code": "x"}]}}
    names = {
        content_name(view),
        content_name(changed),
        content_name(tagged),
        content_name(_shown(redact(PLAN, frozenset()))),
    }
    assert len(names) == 4  # a change it sees (a part, a tag, a part no longer hidden) is a new name


def test_named_sets_the_content_name_as_the_version() -> None:
    view = copy.deepcopy(_shown(redact(PLAN, HIDDEN)))
    shown = named(view)
    assert shown is view and view["meta"]["versionId"] == content_name(view)
    assert named({"resourceType": "CareTeam", "id": "t"})["meta"] == {
        "versionId": content_name({"resourceType": "CareTeam", "id": "t"})
    }
