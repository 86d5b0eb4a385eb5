"""The seam's types: combining decisions (deny-overrides), requests, labels and exports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from auth.principal import Principal
from auth.scopes import parse_scope
from gateway.access.seam import AccessDecision, AccessRequest, Basis, Effect, Reason, Redaction, UnknownPatient, combine
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import ETH, PSY, SOC, Label, R


def _reason(code: str) -> Reason:
    return Reason(code, f"https://yhteys.fi/fhir/policy/rule/{code}", f"{code} fi", f"{code} sv", f"{code} en")


ROLE_READS = AccessDecision.permit(Basis.ROLE, _reason("youth-work-reads-plan"), hidden=frozenset({PSY, ETH, SOC, R}))
ROLE_NEEDS_CONSENT = AccessDecision.permit(
    Basis.ROLE, _reason("youth-work-reads-plan"), hidden=frozenset({PSY, SOC}), requires=frozenset({Basis.CONSENT})
)
ROLE_DENIES = AccessDecision.deny(_reason("auditor-no-clinical-access"))
CONSENT_PERMITS = AccessDecision.permit(Basis.CONSENT, _reason("consent-permits"))
CONSENT_LIFTS_PSY = AccessDecision.permit(Basis.CONSENT, _reason("consent-permits-psy"), lifts=frozenset({PSY}))
CONSENT_REFUSES_SOC = AccessDecision.permit(Basis.CONSENT, _reason("consent-refuses-soc"), hidden=frozenset({SOC}))
CONSENT_DENIES = AccessDecision.deny(_reason("consent-withdrawn"))
NO_CONSENT = AccessDecision(Effect.NOT_APPLICABLE, (_reason("no-consent-on-file"),))
ROLE_LIFTS_PSY = AccessDecision.permit(Basis.ROLE, _reason("role-lifts"), lifts=frozenset({PSY}))


@dataclass(frozen=True)
class CombineCase:
    name: str
    decisions: tuple[AccessDecision, ...]
    want_effect: Effect
    want_reasons: tuple[str, ...]
    want_hidden: frozenset[Label] = frozenset()


COMBINE_CASES = [
    CombineCase("nothing is not applicable", (), Effect.NOT_APPLICABLE, ()),
    CombineCase("only not applicable", (NO_CONSENT,), Effect.NOT_APPLICABLE, ("no-consent-on-file",)),
    CombineCase("one permit", (ROLE_READS,), Effect.PERMIT, ("youth-work-reads-plan",), frozenset({PSY, ETH, SOC, R})),
    CombineCase(
        "deny overrides permit",
        (ROLE_READS, CONSENT_DENIES),
        Effect.DENY,
        ("youth-work-reads-plan", "consent-withdrawn"),
        frozenset({PSY, ETH, SOC, R}),
    ),
    CombineCase(
        "deny overrides, either order",
        (ROLE_DENIES, CONSENT_PERMITS),
        Effect.DENY,
        ("auditor-no-clinical-access", "consent-permits"),
    ),
    CombineCase(
        "requirement unmet alone", (ROLE_NEEDS_CONSENT,), Effect.DENY, ("youth-work-reads-plan",), frozenset({PSY, SOC})
    ),
    CombineCase(
        "requirement unmet: no consent on file",
        (ROLE_NEEDS_CONSENT, NO_CONSENT),
        Effect.DENY,
        ("youth-work-reads-plan", "no-consent-on-file"),
        frozenset({PSY, SOC}),
    ),
    CombineCase(
        "requirement met by a consent permit",
        (ROLE_NEEDS_CONSENT, CONSENT_PERMITS),
        Effect.PERMIT,
        ("youth-work-reads-plan", "consent-permits"),
        frozenset({PSY, SOC}),
    ),
    CombineCase(
        "consent lifts PSY",
        (ROLE_NEEDS_CONSENT, CONSENT_LIFTS_PSY),
        Effect.PERMIT,
        ("youth-work-reads-plan", "consent-permits-psy"),
        frozenset({SOC}),
    ),
    CombineCase(
        "a consent refusal is a redaction",
        (ROLE_LIFTS_PSY, CONSENT_REFUSES_SOC),
        Effect.PERMIT,
        ("role-lifts", "consent-refuses-soc"),
        frozenset({SOC}),
    ),
    CombineCase(
        "only consent lifts",
        (ROLE_READS, ROLE_LIFTS_PSY),
        Effect.PERMIT,
        ("youth-work-reads-plan", "role-lifts"),
        frozenset({PSY, ETH, SOC, R}),
    ),
    CombineCase(
        "reasons are not repeated",
        (ROLE_READS, ROLE_READS),
        Effect.PERMIT,
        ("youth-work-reads-plan",),
        frozenset({PSY, ETH, SOC, R}),
    ),
    CombineCase(
        "combining is associative here",
        (combine(ROLE_NEEDS_CONSENT, CONSENT_LIFTS_PSY), ROLE_READS),
        Effect.PERMIT,
        ("youth-work-reads-plan", "consent-permits-psy"),
        frozenset({ETH, SOC, R}),
    ),
]


@pytest.mark.parametrize("case", COMBINE_CASES, ids=lambda case: case.name)
def test_combine(case: CombineCase) -> None:
    decision = combine(*case.decisions)
    assert decision.effect is case.want_effect
    assert tuple(reason.code for reason in decision.reasons) == case.want_reasons
    assert decision.redactions.hidden == case.want_hidden


def test_constructors() -> None:
    assert ROLE_DENIES.effect is Effect.DENY and ROLE_DENIES.redactions == Redaction()
    assert ROLE_READS.basis == frozenset({Basis.ROLE}) and ROLE_READS.requires == frozenset()
    assert combine(ROLE_NEEDS_CONSENT, CONSENT_PERMITS).basis == frozenset({Basis.ROLE, Basis.CONSENT})


def test_a_decision_cannot_hide_and_lift_one_label() -> None:
    with pytest.raises(ValueError, match="hide and lift"):
        AccessDecision.permit(Basis.CONSENT, hidden=frozenset({PSY}), lifts=frozenset({PSY}))


PRINCIPAL = Principal(
    client_id="youth-services-system",
    organization="Organization/demo-org-youth-services",
    organization_oid="1.2.246.10.99990004.10.0",
    sector=Sector.MUNICIPAL_YOUTH_SERVICES,
    practitioner_role="PractitionerRole/demo-role-youth-worker",
    team_roles=("youth-worker",),
    scopes=(parse_scope("system/CarePlan.rs"),),
    purpose_of_use=PurposeOfUse.TREAT,
    btg_reason="",
    jti="jti-1",
    expires_at=1_800_000_300,
    issued_at=1_800_000_000,
)


def test_request_copies_the_principal_facts_only() -> None:
    request = AccessRequest.of(
        PRINCIPAL, Interaction.READ, "CarePlan", patient="Patient/demo-client", resource_id="demo-plan"
    )
    assert (request.client_id, request.organization, request.sector) == (
        "youth-services-system",
        "Organization/demo-org-youth-services",
        Sector.MUNICIPAL_YOUTH_SERVICES,
    )
    assert request.practitioner_role == "PractitionerRole/demo-role-youth-worker"
    assert request.team_roles == ("youth-worker",) and request.scopes == PRINCIPAL.scopes
    assert request.btg_reason is None
    assert (request.owning_sectors, request.changed_elements, request.labels) == ((), frozenset(), frozenset())
    assert not hasattr(request, "jti")


def test_request_with_break_the_glass() -> None:
    principal = replace(PRINCIPAL, purpose_of_use=PurposeOfUse.BTG, btg_reason="acute crisis, nurse unreachable")
    request = AccessRequest.of(principal, Interaction.READ, "CarePlan", patient=UnknownPatient("search"))
    assert request.btg_reason == "acute crisis, nurse unreachable"
    assert request.patient == UnknownPatient("search")


@pytest.mark.parametrize(
    ("changes", "want_message"),
    [
        ({"patient": "demo-client"}, "Patient/<id>"),
        ({"patient": "Group/demo"}, "Patient/<id>"),
        ({"purpose_of_use": PurposeOfUse.BTG}, "btg_reason"),
        ({"btg_reason": "a reason without BTG"}, "btg_reason"),
    ],
)
def test_request_refuses_inconsistent_facts(changes: dict[str, Any], want_message: str) -> None:
    request = AccessRequest.of(PRINCIPAL, Interaction.READ, "CarePlan", patient="Patient/demo-client")
    with pytest.raises(ValueError, match=want_message):
        replace(request, **changes)


@pytest.mark.parametrize(
    ("interaction", "is_read", "is_write"),
    [
        (Interaction.READ, True, False),
        (Interaction.VREAD, True, False),
        (Interaction.SEARCH, True, False),
        (Interaction.HISTORY, True, False),
        (Interaction.CREATE, False, True),
        (Interaction.UPDATE, False, True),
        (Interaction.PATCH, False, True),
        (Interaction.DELETE, False, True),
        (Interaction.CAPABILITIES, False, False),
        (Interaction.OPERATION, False, False),
        (Interaction.BATCH, False, False),
        (Interaction.TRANSACTION, False, False),
    ],
)
def test_interaction_kinds(interaction: Interaction, is_read: bool, is_write: bool) -> None:
    assert (interaction.is_read, interaction.is_write) == (is_read, is_write)


def test_label_constants() -> None:
    assert SOC == Label("https://yhteys.fi/fhir/CodeSystem/sensitivity", "SOC")
    assert PSY.system == ETH.system == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert R == Label("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")


@pytest.mark.parametrize(
    ("token_roles", "personal_worker", "want_roles"),
    [
        (("youth-worker",), False, ("youth-worker",)),
        (("youth-worker", "personal-worker"), False, ("youth-worker",)),
        (("personal-worker",), False, ()),
        (("youth-worker",), True, ("youth-worker", "personal-worker")),
        (("personal-worker", "youth-worker", "personal-worker"), True, ("youth-worker", "personal-worker")),
    ],
)
def test_personal_worker_comes_from_the_team_never_from_the_token(
    token_roles: tuple[str, ...], personal_worker: bool, want_roles: tuple[str, ...]
) -> None:
    principal = replace(PRINCIPAL, team_roles=token_roles)
    request = AccessRequest.of(
        principal,
        Interaction.UPDATE,
        "CarePlan",
        patient="Patient/demo-client",
        resource_id="demo-plan",
        personal_worker=personal_worker,
    )
    assert request.team_roles == want_roles
    assert principal.team_roles == token_roles
