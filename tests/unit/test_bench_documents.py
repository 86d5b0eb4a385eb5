"""The document benchmark times what it says: a plan of 50 activities and 20 goals as stated, a sound signed document.

`bench.large_plan` must give what `bench.documents` claims (50 distinct activities over the
demo's four sectors, the hospital-psychiatry ones and only they PSY-labelled; 20 distinct goals,
5 PSY-labelled), keeping the FHIR model and our profiles' required elements, every reference
resolving. `bench.documents.issue_document` must answer a sound document that verifies (else the
bench would time an error path) for the school welfare, and the youth services' document stops
where the bench reports it does.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.goal import Goal

from bench.documents import NOW, RECIPIENTS, Bench, issue_document, verify_document, verify_stages
from bench.large_plan import PLAN, SECTORS, large_pool
from gateway.access.labels import owner_of, part_labels, resource_labels
from gateway.documents.structure import document_problems, references_of
from gateway.fhir.codes import Sector
from gateway.fhir.labels import PSY

POOL = large_pool(50, 20)
PLAN_RESOURCE = POOL[PLAN]


@pytest.fixture(scope="module")
def bench() -> Bench:
    return Bench.build(50, 20)


def test_the_plan_has_50_distinct_activities_over_the_four_sectors_psy_only_in_psychiatry() -> None:
    activities = PLAN_RESOURCE["activity"]
    assert len(activities) == 50
    assert len({json.dumps(a, sort_keys=True) for a in activities}) == 50
    assert len({a["detail"]["code"]["text"] for a in activities}) == 50
    owners = Counter(owner_of(a) for a in activities)
    assert owners == {Sector(s): 13 if s in ("school-welfare", "child-protection") else 12 for s in SECTORS}
    for activity in activities:
        psychiatry = owner_of(activity) is Sector.HOSPITAL_PSYCHIATRY
        assert part_labels(activity) == (frozenset({PSY}) if psychiatry else frozenset())
        assert activity["detail"]["performer"]  # SharedCarePlan: a performer for every activity
        (goal,) = activity["detail"]["goal"]
        assert (PSY in resource_labels(POOL[goal["reference"]])) == psychiatry


def test_the_plan_has_20_distinct_goals_5_psy_labelled_in_the_goal_and_in_the_plan() -> None:
    references = [g["reference"] for g in PLAN_RESOURCE["goal"]]
    goals = [POOL[r] for r in references]
    assert len(set(references)) == 20 and len({g["description"]["text"] for g in goals}) == 20
    labelled = [r for r, g in zip(references, goals, strict=True) if PSY in resource_labels(g)]
    assert len(labelled) == 5
    assert [g["reference"] for g in PLAN_RESOURCE["goal"] if part_labels(g) == {PSY}] == labelled
    assert not any(r.startswith("Goal/demo-") for r in POOL) and "CarePlan/demo-plan" not in POOL


def test_the_resources_keep_the_fhir_model_the_profiles_and_resolve() -> None:
    CarePlan.model_validate(PLAN_RESOURCE)
    for reference, resource in POOL.items():
        assert reference == f"{resource['resourceType']}/{resource['id']}"
        assert [r for r in references_of(resource) if r not in POOL] == [], reference
        if resource["resourceType"] == "Goal":
            Goal.model_validate(resource)
            assert resource["description"]["text"] and resource["expressedBy"]  # ClientGoal
    for element in ("identifier", "category", "description", "period", "author", "addresses", "goal"):
        assert PLAN_RESOURCE[element]  # SharedCarePlan's required elements


def test_the_school_welfare_document_is_sound_verifies_and_holds_nothing_psy(bench: Bench) -> None:
    school = next(r for r in RECIPIENTS if r.name == "school welfare")
    for algorithm in ("ES256", "RS256"):
        issued = issue_document(bench, school, bench.signers[algorithm])
        assert issued.failure is None and issued.document is not None
        assert list(issued.stages) == ["principals", "view", "closure", "compose", "problems", "sign"]
        document: dict[str, Any] = issued.document
        assert document_problems(document) == [] and verify_document(bench, document, NOW) == []
        assert set(verify_stages(bench, document, NOW)) == {"canonical", "certificates", "jws", "structure"}
    text = json.dumps(document, ensure_ascii=False)
    assert '"PSY"' not in text and "bench-goal-03" not in text and "Nuorisopsykiatrian" not in text
    (plan,) = [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    assert len(plan["activity"]) == 38 and len(plan["goal"]) == 15


def test_the_youth_services_document_is_refused_for_want_of_the_client(bench: Bench) -> None:
    """What the bench reports: the demo consent shows the youth services the plan but not the
    client, so no document can name her to them (the gateway answers 403 there)."""
    youth = next(r for r in RECIPIENTS if r.name == "youth services")
    issued = issue_document(bench, youth, bench.signers["ES256"])
    assert issued.document is None and issued.failure == "refused: the recipient may not see the client"
    assert list(issued.stages) == ["principals", "view"]
