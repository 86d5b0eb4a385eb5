"""A write merged with what the caller cannot see: hidden parts survive, and the effect is exact."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.access.seam import UnknownSector, Withheld
from gateway.demo import demo_bundle
from gateway.fhir.codes import Sector
from gateway.fhir.labels import PSY, SOC, Label, R
from gateway.fhir.systems import OWNING_SECTOR, PLAN_SECURITY_LABEL, SECTOR_SYSTEM
from gateway.proxy.merge import describe_create, describe_delete, merge_update
from gateway.proxy.redaction import redact

DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
STORE_META = {"versionId": "3", "lastUpdated": "2026-10-01T09:00:00+03:00", "source": "#a1"}
PLAN: dict[str, Any] = {**DEMO["CarePlan/demo-plan"], "meta": {**DEMO["CarePlan/demo-plan"]["meta"], **STORE_META}}
"""The demo plan as the store answers it (with the store's meta)."""
HIDE_PSY = frozenset({PSY})
NOTHING: frozenset[Label] = frozenset()
PSY_ACTIVITY = 2  # the hospital-psychiatry activity; goal and addresses hide their last entry


def _view(resource: dict[str, Any], hidden: frozenset[Label] = HIDE_PSY) -> dict[str, Any]:
    """`resource` as the caller sees it: what it reads and may send back."""
    shown = redact(resource, hidden)
    assert not isinstance(shown, Withheld)
    return shown


def _psy_label() -> dict[str, Any]:
    return {
        "url": PLAN_SECURITY_LABEL,
        "valueCoding": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"},
    }


def _activity(sector: str, text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    owner = {"url": OWNING_SECTOR, "valueCoding": {"system": SECTOR_SYSTEM, "code": sector}}
    return {"extension": [owner, *extra], "detail": {"status": "scheduled", "code": {"text": text}}}


def test_the_view_sent_back_unchanged_stores_exactly_the_current_plan() -> None:
    view = _view(PLAN)
    assert len(view["activity"]) == 3 and len(view["goal"]) == 2 and len(view["addresses"]) == 2  # the setting
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.resource == PLAN
    assert effect.resource is not None and list(effect.resource) == list(PLAN)  # no element moved either
    assert (effect.owning_sectors, effect.changed_elements, effect.labels) == ((), frozenset(), frozenset())


def test_hidden_parts_go_back_to_their_old_positions_between_visible_ones() -> None:
    plan = copy.deepcopy(PLAN)
    psy = plan["activity"][PSY_ACTIVITY]
    plan["activity"] = [psy, plan["activity"][0], {**psy, "detail": {"status": "stopped"}}, plan["activity"][1]]
    effect = merge_update(plan, _view(plan), HIDE_PSY)
    assert effect.resource is not None and effect.resource["activity"] == plan["activity"]
    assert effect.owning_sectors == ()


def test_a_caller_who_sees_everything_replaces_everything() -> None:
    view = _view(PLAN, NOTHING)
    view["goal"] = view["goal"][:1]
    effect = merge_update(PLAN, view, NOTHING)
    assert effect.resource is not None and effect.resource["goal"] == PLAN["goal"][:1]
    assert effect.changed_elements == frozenset({"goal"})
    assert effect.labels == frozenset({PSY})  # the PSY goal reference it removed


def test_changing_one_visible_activity_names_its_owner_as_removed_and_added() -> None:
    view = _view(PLAN)
    view["activity"][1]["detail"]["status"] = "completed"
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.owning_sectors == (Sector.CHILD_PROTECTION, Sector.CHILD_PROTECTION)
    assert effect.changed_elements == frozenset()
    assert effect.labels == frozenset()
    assert effect.resource is not None
    assert effect.resource["activity"][1]["detail"]["status"] == "completed"
    assert effect.resource["activity"][PSY_ACTIVITY] == PLAN["activity"][PSY_ACTIVITY]


def test_moving_an_activity_to_another_owner_names_both_owners() -> None:
    view = _view(PLAN)
    view["activity"][0]["extension"][0]["valueCoding"]["code"] = Sector.SOCIAL_WELFARE.value
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.owning_sectors == (Sector.SCHOOL_WELFARE, Sector.SOCIAL_WELFARE)
    assert effect.changed_elements == frozenset()


def test_adding_and_removing_activities_names_their_owners() -> None:
    view = _view(PLAN)
    removed = view["activity"].pop(0)
    view["activity"].append(_activity(Sector.HOUSING.value, "Asumisneuvonta"))
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert removed == PLAN["activity"][0]
    assert effect.owning_sectors == (Sector.SCHOOL_WELFARE, Sector.HOUSING)
    assert effect.resource is not None and PLAN["activity"][PSY_ACTIVITY] in effect.resource["activity"]


def test_reordering_visible_activities_is_no_change() -> None:
    view = _view(PLAN)
    view["activity"].reverse()
    view["goal"].reverse()
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert (effect.owning_sectors, effect.changed_elements, effect.labels) == ((), frozenset(), frozenset())
    assert effect.resource is not None
    assert sorted(map(str, effect.resource["activity"])) == sorted(map(str, PLAN["activity"]))


def test_an_activity_of_an_unknown_owner_counts_as_unknown_sector() -> None:
    view = _view(PLAN)
    view["activity"].append({"detail": {"status": "scheduled"}})
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.owning_sectors == (UnknownSector(),)


@pytest.mark.parametrize(
    ("element", "part"),
    [
        ("activity", _activity(Sector.MUNICIPAL_YOUTH_SERVICES.value, "Ryhmä", _psy_label())),
        ("goal", {"reference": "Goal/demo-goal-wellbeing", "extension": [_psy_label()]}),
        ("addresses", {"reference": "Condition/demo-need-anxiety", "extension": [_psy_label()]}),
        ("contributor", {"reference": "PractitionerRole/demo-role-psych-nurse", "extension": [_psy_label()]}),
    ],
)
def test_a_part_the_caller_sends_with_a_hidden_label_is_reported(element: str, part: dict[str, Any]) -> None:
    view = _view(PLAN)
    view[element].append(part)
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert PSY in effect.labels
    if element == "activity":
        assert effect.owning_sectors == (Sector.MUNICIPAL_YOUTH_SERVICES,)
    else:
        assert effect.changed_elements == frozenset({element})


def test_a_copy_of_a_hidden_activity_sent_by_the_caller_is_reported() -> None:
    view = _view(PLAN)
    view["activity"].append(copy.deepcopy(PLAN["activity"][PSY_ACTIVITY]))
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert PSY in effect.labels
    assert effect.owning_sectors == (Sector.HOSPITAL_PSYCHIATRY,)


def test_a_changed_part_with_a_label_the_caller_sees_reports_that_label() -> None:
    plan = copy.deepcopy(PLAN)
    soc = {"url": PLAN_SECURITY_LABEL, "valueCoding": {"system": SOC.system, "code": "SOC"}}
    plan["activity"][1]["extension"].append(soc)
    view = _view(plan)
    view["activity"][1]["detail"]["status"] = "completed"
    assert merge_update(plan, view, HIDE_PSY).labels == frozenset({SOC})


def test_removing_a_visible_goal_reference_changes_goal() -> None:
    view = _view(PLAN)
    view["goal"] = [g for g in view["goal"] if g["reference"] != "Goal/demo-goal-home"]
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.changed_elements == frozenset({"goal"})
    assert (effect.owning_sectors, effect.labels) == ((), frozenset())
    assert effect.resource is not None
    assert [g["reference"] for g in effect.resource["goal"]] == ["Goal/demo-goal-studies", "Goal/demo-goal-wellbeing"]


def test_removing_every_visible_addressed_need_keeps_the_hidden_one() -> None:
    view = _view(PLAN)
    del view["addresses"]
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.changed_elements == frozenset({"addresses"})
    assert effect.resource is not None and effect.resource["addresses"] == PLAN["addresses"][2:]


@dataclass(frozen=True)
class ElementCase:
    name: str
    change: Callable[[dict[str, Any]], object]
    want_changed: frozenset[str]
    want_labels: frozenset[Label] = frozenset()


def _set_meta(**values: object) -> Callable[[dict[str, Any]], object]:
    return lambda plan: plan["meta"].update(values)


ELEMENT_CASES = [
    ElementCase("status", lambda plan: plan.update(status="completed"), frozenset({"status"})),
    ElementCase("description dropped", lambda plan: plan.pop("description"), frozenset({"description"})),
    ElementCase(
        "new element",
        lambda plan: plan.update(instantiatesUri=["https://example.org/x"]),
        frozenset({"instantiatesUri"}),
    ),
    ElementCase(
        "status and title", lambda plan: plan.update(status="revoked", title="Uusi"), frozenset({"status", "title"})
    ),
    ElementCase("id is not an element change", lambda plan: plan.update(id="other"), frozenset()),
    ElementCase(
        "meta.security", _set_meta(security=[{"system": R.system, "code": "R"}]), frozenset({"meta"}), frozenset({R})
    ),
    ElementCase(
        "meta.profile", _set_meta(profile=["https://example.org/StructureDefinition/Other"]), frozenset({"meta"})
    ),
    ElementCase("meta.profile removed", lambda plan: plan["meta"].pop("profile"), frozenset({"meta"})),
    ElementCase("meta.tag", _set_meta(tag=[{"system": "https://example.org/tags", "code": "x"}]), frozenset({"meta"})),
    ElementCase("meta.versionId", _set_meta(versionId="4"), frozenset()),
    ElementCase("meta.lastUpdated", _set_meta(lastUpdated="2027-01-01T00:00:00Z"), frozenset()),
    ElementCase("meta.source", _set_meta(source="#elsewhere"), frozenset()),
    ElementCase("store meta dropped", lambda plan: plan.update(meta={"profile": PLAN["meta"]["profile"]}), frozenset()),
    ElementCase(
        "another profile", _set_meta(profile=["https://example.org/P", *PLAN["meta"]["profile"]]), frozenset({"meta"})
    ),
]


@pytest.mark.parametrize("case", ELEMENT_CASES, ids=lambda case: case.name)
def test_changed_elements(case: ElementCase) -> None:
    view = _view(PLAN)
    case.change(view)
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.changed_elements == case.want_changed
    assert effect.labels == case.want_labels
    assert effect.owning_sectors == ()


def test_the_order_of_profiles_and_security_labels_is_no_change() -> None:
    plan = copy.deepcopy(PLAN)
    plan["meta"]["profile"] = ["https://example.org/A", "https://example.org/B"]
    plan["meta"]["security"] = [{"system": R.system, "code": "N"}, {"system": R.system, "code": "M"}]
    view = _view(plan)
    view["meta"]["profile"].reverse()
    view["meta"]["security"].reverse()
    assert merge_update(plan, view, HIDE_PSY).changed_elements == frozenset()


def test_labels_of_the_resource_before_and_after_are_reported() -> None:
    plan = copy.deepcopy(PLAN)
    plan["meta"]["security"] = [{"system": SOC.system, "code": "SOC"}]
    view = _view(plan, NOTHING)
    view["meta"]["security"] = [{"system": R.system, "code": "R"}]
    assert merge_update(plan, view, NOTHING).labels == frozenset({SOC, R})


def test_malformed_parts_of_the_current_plan_are_kept_as_hidden() -> None:
    plan = copy.deepcopy(PLAN)
    plan["activity"].insert(1, "not an object")
    plan["goal"].insert(0, 42)
    view = _view(plan, NOTHING)
    assert "not an object" not in view["activity"] and 42 not in view["goal"]  # redaction drops them
    effect = merge_update(plan, view, NOTHING)
    assert effect.resource is not None
    assert effect.resource["activity"] == plan["activity"] and effect.resource["goal"] == plan["goal"]
    assert (effect.owning_sectors, effect.changed_elements, effect.labels) == ((), frozenset(), frozenset())


def test_a_malformed_part_sent_by_the_caller_reads_as_restricted_and_unowned() -> None:
    view = _view(PLAN)
    view["activity"].append("not an object")
    effect = merge_update(PLAN, view, HIDE_PSY)
    assert effect.owning_sectors == (UnknownSector(),)
    assert R in effect.labels


def test_other_resources_compare_every_element_plainly() -> None:
    goal = DEMO["Goal/demo-goal-studies"]
    proposed = copy.deepcopy(goal)
    proposed["target"] = list(reversed(proposed.get("target", []))) + [{"detailString": "x"}]
    effect = merge_update(goal, proposed, HIDE_PSY)
    assert effect.resource == proposed
    assert effect.changed_elements == frozenset({"target"})
    assert effect.owning_sectors == ()


TEAM: dict[str, Any] = {**DEMO["CareTeam/demo-team"], "meta": {**DEMO["CareTeam/demo-team"]["meta"], **STORE_META}}
"""The demo team as the store answers it: the psychiatric nurse and psychiatrist labelled PSY."""


def _members(team: dict[str, Any]) -> list[str]:
    return [p["member"]["reference"] for p in team["participant"]]


def test_the_team_view_sent_back_unchanged_stores_exactly_the_current_team() -> None:
    view = _view(TEAM)
    assert len(view["participant"]) == len(TEAM["participant"]) - 2  # the setting
    assert not any("psych" in member for member in _members(view))
    effect = merge_update(TEAM, view, HIDE_PSY)
    assert effect.resource == TEAM
    assert (effect.owning_sectors, effect.changed_elements, effect.labels) == ((), frozenset(), frozenset())


def test_a_team_update_keeps_hidden_participants_in_place() -> None:
    view = _view(TEAM)
    view["participant"] = [p for p in view["participant"] if p["member"]["reference"] != "Patient/demo-client"]
    view["participant"].reverse()  # a reordering alone is no change
    effect = merge_update(TEAM, view, HIDE_PSY)
    assert effect.changed_elements == frozenset({"participant"})
    assert (effect.owning_sectors, effect.labels) == ((), frozenset())
    assert effect.resource is not None
    kept = [p for p in effect.resource["participant"] if p.get("extension")]
    assert kept == [p for p in TEAM["participant"] if p.get("extension")]
    assert [_members(effect.resource).index(p["member"]["reference"]) for p in kept] == [
        _members(TEAM).index(p["member"]["reference"]) for p in kept
    ]


def test_reordering_visible_participants_is_no_change() -> None:
    view = _view(TEAM)
    view["participant"].reverse()
    effect = merge_update(TEAM, view, HIDE_PSY)
    assert effect.changed_elements == frozenset() and effect.labels == frozenset()


def test_a_participant_the_caller_sends_with_a_hidden_label_is_reported() -> None:
    view = _view(TEAM)
    hidden = next(p for p in TEAM["participant"] if p.get("extension"))
    view["participant"].append(copy.deepcopy(hidden))
    effect = merge_update(TEAM, view, HIDE_PSY)
    assert PSY in effect.labels
    assert effect.owning_sectors == (Sector.HOSPITAL_PSYCHIATRY,)  # the demo's psychiatry members are its own


def test_a_whole_write_of_the_team_reports_its_participants_labels() -> None:
    assert describe_create(TEAM).labels == frozenset({PSY})
    assert "participant" in describe_delete(TEAM).changed_elements


def test_merge_update_never_modifies_its_inputs() -> None:
    plan = copy.deepcopy(PLAN)
    plan["activity"].insert(0, "not an object")
    view = _view(plan)
    view["activity"][0]["detail"]["status"] = "completed"
    del view["goal"][0]
    view["addresses"].append({"reference": "Condition/new", "extension": [_psy_label()]})
    before_plan, before_view = copy.deepcopy(plan), copy.deepcopy(view)
    merge_update(plan, view, HIDE_PSY)
    assert (plan, view) == (before_plan, before_view)


def test_describe_create_of_the_demo_plan() -> None:
    before = copy.deepcopy(PLAN)
    effect = describe_create(PLAN)
    assert effect.resource == PLAN and effect.resource is not PLAN
    assert effect.owning_sectors == (
        Sector.SCHOOL_WELFARE, Sector.CHILD_PROTECTION, Sector.HOSPITAL_PSYCHIATRY, Sector.MUNICIPAL_YOUTH_SERVICES,
    )  # fmt: skip
    assert effect.changed_elements == frozenset(PLAN) - {"resourceType", "id", "activity"}
    assert "meta" in effect.changed_elements and "goal" in effect.changed_elements
    assert effect.labels == frozenset({PSY})
    assert PLAN == before


def test_describe_delete_of_the_demo_plan() -> None:
    before = copy.deepcopy(PLAN)
    effect = describe_delete(PLAN)
    assert effect.resource is None
    assert effect.owning_sectors == describe_create(PLAN).owning_sectors
    assert effect.changed_elements == frozenset(PLAN) - {"resourceType", "id", "activity"}
    assert effect.labels == frozenset({PSY})
    assert PLAN == before


@pytest.mark.parametrize("describe", [describe_create, describe_delete])
def test_a_whole_write_counts_meta_only_with_content(describe: Callable[[dict[str, Any]], Any]) -> None:
    goal = {**DEMO["Goal/demo-goal-studies"], "meta": {"versionId": "2", "lastUpdated": "2026-09-01T00:00:00Z"}}
    assert describe(goal).changed_elements == frozenset(goal) - {"resourceType", "id", "meta"}
    goal["meta"]["tag"] = [{"system": "https://example.org/tags", "code": "x"}]
    assert "meta" in describe(goal).changed_elements


def test_a_whole_write_of_another_type_has_its_own_labels_and_no_owners() -> None:
    goal = DEMO["Goal/demo-goal-wellbeing"]
    effect = describe_delete(goal)
    assert effect.labels == frozenset({PSY}) and effect.owning_sectors == ()
    assert effect.changed_elements == frozenset(goal) - {"resourceType", "id"}


def _owner_extension(sector: str) -> dict[str, Any]:
    return {"url": OWNING_SECTOR, "valueCoding": {"system": SECTOR_SYSTEM, "code": sector}}


def _member(role: str, reference: str, owner: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {
        "role": [{"coding": [{"system": "https://yhteys.fi/fhir/CodeSystem/team-role", "code": role}]}],
        "member": {"reference": reference},
    }
    if owner is not None:
        part["extension"] = [_owner_extension(owner)]
    return part


BARE_TEAM: dict[str, Any] = {"resourceType": "CareTeam", "id": "t", "status": "active", "participant": []}


def test_an_owned_team_member_counts_by_its_owner_and_an_unowned_one_as_participant() -> None:
    nurse = _member("psychiatric-nurse", "PractitionerRole/n", "hospital-psychiatry")
    curator = _member("school-curator", "PractitionerRole/c")
    effect = merge_update(BARE_TEAM, {**BARE_TEAM, "participant": [nurse]}, NOTHING)
    assert (effect.owning_sectors, effect.changed_elements) == ((Sector.HOSPITAL_PSYCHIATRY,), frozenset())
    effect = merge_update(BARE_TEAM, {**BARE_TEAM, "participant": [curator]}, NOTHING)
    assert (effect.owning_sectors, effect.changed_elements) == ((), frozenset({"participant"}))


def test_an_owned_personal_worker_counts_as_participant_too() -> None:
    worker = _member("personal-worker", "PractitionerRole/n", "hospital-psychiatry")
    effect = merge_update(BARE_TEAM, {**BARE_TEAM, "participant": [worker]}, NOTHING)
    assert effect.owning_sectors == (Sector.HOSPITAL_PSYCHIATRY,)
    assert effect.changed_elements == frozenset({"participant"})
    odd = {**worker, "role": "personal-worker"}  # unreadable roles may hold it
    assert merge_update(BARE_TEAM, {**BARE_TEAM, "participant": [odd]}, NOTHING).changed_elements == frozenset(
        {"participant"}
    )
    created = describe_create({**BARE_TEAM, "participant": [worker]})
    assert created.owning_sectors == (Sector.HOSPITAL_PSYCHIATRY,) and "participant" in created.changed_elements


@pytest.mark.parametrize("resource_type", ["Goal", "Condition"])
def test_an_owned_goal_or_condition_counts_only_by_its_owner(resource_type: str) -> None:
    owned = {"resourceType": resource_type, "id": "x", "extension": [_owner_extension("hospital-psychiatry")]}
    changed = {**owned, "note": [{"text": "new"}]}
    effect = merge_update(owned, changed, NOTHING)
    assert (effect.owning_sectors, effect.changed_elements) == ((Sector.HOSPITAL_PSYCHIATRY,), frozenset())
    created = describe_create(changed)
    assert (created.owning_sectors, created.changed_elements) == ((Sector.HOSPITAL_PSYCHIATRY,), frozenset())
    moved = {**changed, "extension": [_owner_extension("school-welfare")]}
    assert merge_update(owned, moved, NOTHING).owning_sectors == (Sector.HOSPITAL_PSYCHIATRY, Sector.SCHOOL_WELFARE)


@pytest.mark.parametrize("resource_type", ["Goal", "Condition"])
def test_taking_or_giving_up_ownership_counts_the_elements_as_well(resource_type: str) -> None:
    plain = {"resourceType": resource_type, "id": "x", "note": [{"text": "shared"}]}
    owned = {**plain, "extension": [_owner_extension("hospital-psychiatry")]}
    for before, after in ((plain, owned), (owned, plain)):
        effect = merge_update(before, after, NOTHING)
        assert effect.owning_sectors == (Sector.HOSPITAL_PSYCHIATRY,)
        assert effect.changed_elements == frozenset({"extension"})
    unowned = merge_update(plain, {**plain, "note": []}, NOTHING)
    assert (unowned.owning_sectors, unowned.changed_elements) == ((), frozenset({"note"}))
