"""A decision is only had with its facts in hand: the client's consents, and for writes its teams."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auth.scopes import parse_scope
from gateway.access.consent.decider import ConsentPolicy, ConsentsOnFile, NoConsentOnFile
from gateway.access.decider import ClientFacts, Decider, FactsMissing, Policies
from gateway.access.policy import load_policy
from gateway.access.seam import Effect
from gateway.demo import demo_bundle
from gateway.fhir.codes import Interaction, Sector
from tests.unit.gateway.access.test_seam import PRINCIPAL

POLICIES = Policies(load_policy(), ConsentPolicy())
DEMO = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in demo_bundle()["entry"]}
CONSENT = DEMO["Consent/demo-consent"]
SOCIAL_WORKER = replace(
    PRINCIPAL,
    client_id="social-welfare-system",
    organization="Organization/demo-org-social-welfare",
    sector=Sector.CHILD_PROTECTION,
    practitioner_role="PractitionerRole/demo-role-social-worker",
    team_roles=("aftercare-social-worker",),
    scopes=(parse_scope("system/Goal.cruds"),),
)


def _facts(teams: tuple[dict[str, Any], ...] | None = None) -> dict[str, ClientFacts]:
    return {"Patient/demo-client": ClientFacts(ConsentsOnFile((CONSENT,)), teams)}


def test_a_decision_about_a_client_whose_facts_were_not_read_is_refused_as_a_fault() -> None:
    decider = Decider(PRINCIPAL, POLICIES, {}, Interaction.READ)
    with pytest.raises(FactsMissing, match="Patient/demo-client"):
        decider.decide(DEMO["CarePlan/demo-plan"])


def test_a_write_decision_needs_the_clients_teams() -> None:
    decider = Decider(SOCIAL_WORKER, POLICIES, _facts(), Interaction.UPDATE)
    assert decider.decide(DEMO["Goal/demo-goal-home"], Interaction.READ).effect is Effect.PERMIT  # reads need none
    with pytest.raises(FactsMissing, match="teams"):
        decider.decide(DEMO["Goal/demo-goal-home"])
    with pytest.raises(FactsMissing):
        decider.teams("Patient/demo-client")


def test_the_personal_worker_is_derived_from_the_teams_in_hand() -> None:
    team = DEMO["CareTeam/demo-team"]
    goal = DEMO["Goal/demo-goal-home"]
    with_team = Decider(SOCIAL_WORKER, POLICIES, _facts((team,)), Interaction.UPDATE)
    assert with_team.decide(goal).effect is Effect.PERMIT  # the social worker is the personal worker
    without = Decider(SOCIAL_WORKER, POLICIES, _facts(()), Interaction.UPDATE)
    assert without.decide(goal).effect is Effect.DENY  # no active team: nobody is the personal worker
    assert with_team.teams("Patient/demo-client") == (team,)


def test_directory_data_needs_no_client_facts() -> None:
    reader = replace(PRINCIPAL, scopes=(parse_scope("system/Organization.rs"), parse_scope("system/CarePlan.rs")))
    decider = Decider(reader, POLICIES, {}, Interaction.READ)
    decision = decider.decide({"resourceType": "Organization", "id": "o"})
    assert decision.effect is Effect.PERMIT and [r.code for r in decision.reasons] == ["directory-read"]
    no_consent = Decider(reader, POLICIES, {"Patient/demo-client": ClientFacts(NoConsentOnFile())}, Interaction.READ)
    assert no_consent.decide(DEMO["CarePlan/demo-plan"]).effect is Effect.DENY  # outside the county: consent required
