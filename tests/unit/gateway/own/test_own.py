"""The client's own view, pure parts: what her plan page shows, what her consents share, and how
she withdraws or gives a consent — checked against the demo data and the consent decider."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile
from gateway.access.seam import AccessRequest, Effect
from gateway.demo import demo_bundle
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.own.consents import granted, sharing, withdrawn
from gateway.own.view import own_plan

CLIENT = "Patient/demo-client"
YOUTH = "Organization/demo-org-youth-services"
TODAY = date(2026, 12, 4)


def demo(kind: str | None = None) -> list[dict[str, Any]]:
    resources = [copy.deepcopy(e["resource"]) for e in demo_bundle()["entry"]]
    return [r for r in resources if kind is None or r["resourceType"] == kind]


def youth_reads_plan(consents: list[dict[str, Any]]) -> Effect:
    """What the consent decider says of the youth services reading her plan, on these consents."""
    request = AccessRequest(
        client_id="youth-system", organization=YOUTH, sector=Sector.MUNICIPAL_YOUTH_SERVICES,
        practitioner_role="PractitionerRole/demo-role-youth-worker", team_roles=("youth-worker",), scopes=(),
        purpose_of_use=PurposeOfUse.TREAT, btg_reason=None, interaction=Interaction.READ, resource_type="CarePlan",
        resource_id="demo-plan", patient=CLIENT,
    )  # fmt: skip
    return ConsentPolicy().check(request, ConsentsOnFile(tuple(consents))).effect


def test_her_plan_page_shows_her_plan_goals_and_team_personal_worker_first() -> None:
    page = own_plan(demo(), CLIENT, CLIENT, "fi", TODAY)
    assert [p.reference for p in page.plans] == ["CarePlan/demo-plan"]
    assert len(page.goals) == 3 and all(g.hers for g in page.goals)
    first = page.team[0]
    assert first.personal_worker and first.name == "Minna Korhonen" and first.phone == "+358 40 000 0102"
    curator = next(m for m in page.team if m.name == "Laura Heikkinen")
    assert not curator.personal_worker  # her spell as personal worker ended in September
    assert all(m.name for m in page.team) and len(page.team) == 5  # the professionals; she is no row
    assert page.references == ("CarePlan/demo-plan", *(g.reference for g in page.goals))


def test_her_plan_page_ignores_anyone_elses_resources() -> None:
    others = demo()
    for resource in others:
        for element in ("subject", "patient"):
            if element in resource:
                resource[element] = {"reference": "Patient/someone-else"}
    page = own_plan(others, CLIENT, CLIENT, "fi", TODAY)
    assert page.plans == () and page.goals == () and page.team == ()


def test_her_consent_shares_the_plan_with_the_youth_services() -> None:
    shared = sharing(demo("Consent"), CLIENT, TODAY)
    assert set(shared) == {YOUTH}
    assert shared[YOUTH].types == ("CarePlan", "Goal", "CareTeam") and shared[YOUTH].until == "2027-08-31"
    assert sharing(demo("Consent"), CLIENT, date(2027, 9, 1)) == {}  # no longer in force
    assert sharing(demo("Consent"), "Patient/other", TODAY) == {}


def test_a_withdrawal_removes_the_permit_and_the_decider_then_refuses() -> None:
    consents = demo("Consent")
    assert youth_reads_plan(consents) is Effect.PERMIT
    changed = withdrawn(consents[0], YOUTH)
    assert changed is not None and changed["status"] == "inactive"  # it permitted nobody else
    assert consents[0]["status"] == "active"  # the original is not touched
    assert youth_reads_plan([changed]) is not Effect.PERMIT
    assert withdrawn(changed, YOUTH) is None  # nothing left to withdraw
    assert withdrawn(consents[0], "Organization/demo-org-psychiatry") is None


def test_a_withdrawal_keeps_the_denials_and_the_other_recipients() -> None:
    consent = demo("Consent")[0]
    permit = next(p for p in consent["provision"]["provision"] if p["type"] == "permit")
    permit["actor"].append({"role": permit["actor"][0]["role"], "reference": {"reference": "Organization/ngo"}})
    denials = [p for p in consent["provision"]["provision"] if p["type"] == "deny"]
    changed = withdrawn(consent, YOUTH)
    assert changed is not None and changed["status"] == "active"
    assert set(sharing([changed], CLIENT, TODAY)) == {"Organization/ngo"}
    assert [p for p in changed["provision"]["provision"] if p["type"] == "deny"] == denials


def test_a_consent_she_gives_permits_that_organisation_for_a_year() -> None:
    given = granted(CLIENT, CLIENT, YOUTH, "Organization/demo-org-social-welfare", TODAY)
    given["id"] = "new"
    assert given["performer"] == [{"reference": CLIENT}] and given["provision"]["period"]["end"] == "2027-12-04"
    assert youth_reads_plan([given]) is Effect.PERMIT
    assert set(sharing([given], CLIENT, TODAY)) == {YOUTH}
