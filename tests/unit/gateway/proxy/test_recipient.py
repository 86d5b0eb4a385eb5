"""A document recipient's view: decided by the same policy and consent as a request of theirs, narrowest role wins."""

from __future__ import annotations

import json
from typing import Any

from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile, ConsentUnreadable
from gateway.access.decider import ClientFacts, Policies
from gateway.access.policy import load_policy
from gateway.demo import demo_client_records
from gateway.fhir.codes import PurposeOfUse, Sector
from gateway.proxy.recipient import recipient_principals, recipient_view

POOL = demo_client_records()
POLICIES = Policies(load_policy(), ConsentPolicy())
FACTS = {"Patient/demo-client": ClientFacts(ConsentsOnFile((POOL["Consent/demo-consent"],)))}


def _view(
    organization: str, sector: Sector, facts: dict[str, ClientFacts] = FACTS
) -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    principals = recipient_principals(POLICIES.role, organization, "1.2.246.10.1", sector, PurposeOfUse.CAREMGT)
    view = recipient_view(POOL, principals, POLICIES, facts)
    return view.resources, view.dangling


def test_each_reading_role_of_the_sector_stands_for_the_recipient() -> None:
    roles = [
        p.team_roles
        for p in recipient_principals(
            POLICIES.role, "Organization/x", "1", Sector.HOSPITAL_PSYCHIATRY, PurposeOfUse.TREAT
        )
    ]
    assert sorted(r[0] for r in roles) == ["consulting-psychiatrist", "doctor", "nurse", "psychiatric-nurse"]
    assert recipient_principals(POLICIES.role, "Organization/x", "1", Sector.HOUSING, PurposeOfUse.BTG) == ()


def test_the_psychiatry_recipient_sees_psy_and_the_youth_services_only_what_the_consent_names() -> None:
    psychiatry, _ = _view("Organization/demo-org-psychiatry", Sector.HOSPITAL_PSYCHIATRY)
    assert "Condition/demo-need-anxiety" in psychiatry and "Goal/demo-goal-wellbeing" in psychiatry
    youth, dangling = _view("Organization/demo-org-youth-services", Sector.MUNICIPAL_YOUTH_SERVICES)
    text = json.dumps(youth, ensure_ascii=False)
    assert "CarePlan/demo-plan" in youth and "Goal/demo-goal-home" in youth
    assert "PSY" not in text and "demo-need-anxiety" not in text and "demo-goal-wellbeing" not in text
    assert "Patient/demo-client" not in youth  # the demo consent shows the youth services her plan, not her record
    assert "CarePlan/demo-plan: Patient/demo-client" in dangling and "Patient/demo-client" not in json.dumps(
        youth["CarePlan/demo-plan"]
    )


def test_unreadable_consents_show_nothing_of_the_client() -> None:
    facts = {"Patient/demo-client": ClientFacts(ConsentUnreadable("store down"))}
    seen, _ = _view("Organization/demo-org-psychiatry", Sector.HOSPITAL_PSYCHIATRY, facts)
    assert not any(ref.split("/")[0] in {"CarePlan", "Goal", "CareTeam", "Condition", "Patient"} for ref in seen)
    assert "Organization/demo-org-psychiatry" in seen  # directory data is decided by role alone
