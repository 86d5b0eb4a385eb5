"""The role policy: a table of demo-team requests with the decisions they must get.

Each case is `PolicyCase{name, caller, interaction, resource, want_effect, want_reasons}`
(ORCA's AuthzPolicyTest, plus reasons): `want_reasons` are reason codes in order,
`want_hidden` the labels redacted from a permit, `want_requires` what else must permit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth.scopes import Scope, parse_scope
from gateway.access.policy import RULES_PATH, PolicyError, load_policy, parse_policy
from gateway.access.seam import (
    AccessChecker,
    AccessDecision,
    AccessRequest,
    Basis,
    Effect,
    Reason,
    UnknownPatient,
    UnknownSector,
    combine,
)
from gateway.fhir.codes import TEAM_ROLES, Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import ETH, PSY, SOC, Label, R

POLICY = load_policy()
ALL = frozenset({PSY, ETH, SOC, R})
CLIENT = "Patient/demo-client"
BTG_REASON = "client in acute crisis at the youth centre, nurse not reachable"
EVERYTHING = (parse_scope("system/*.cruds"),)


@dataclass(frozen=True)
class Caller:
    client_id: str
    organization: str
    sector: Sector
    practitioner_role: str
    team_roles: tuple[str, ...]


CURATOR = Caller(
    "school-system",
    "Organization/demo-org-school-welfare",
    Sector.SCHOOL_WELFARE,
    "PractitionerRole/demo-role-curator",
    ("school-curator",),
)
SOCIAL_WORKER = Caller(
    "social-system",
    "Organization/demo-org-social-welfare",
    Sector.CHILD_PROTECTION,
    "PractitionerRole/demo-role-social-worker",
    ("aftercare-social-worker", "personal-worker"),
)
PSYCH_NURSE = Caller(
    "psychiatry-ehr",
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psych-nurse",
    ("psychiatric-nurse",),
)
PSYCHIATRIST = Caller(
    "psychiatry-ehr",
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psychiatrist",
    ("consulting-psychiatrist",),
)
YOUTH_WORKER = Caller(
    "youth-services-system",
    "Organization/demo-org-youth-services",
    Sector.MUNICIPAL_YOUTH_SERVICES,
    "PractitionerRole/demo-role-youth-worker",
    ("youth-worker",),
)
AUDITOR = Caller(
    "audit-console",
    "Organization/demo-org-social-welfare",
    Sector.SOCIAL_WELFARE,
    "PractitionerRole/demo-role-auditor",
    ("auditor",),
)
NURSE_AUDITOR = Caller(
    "psychiatry-ehr",
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psych-nurse",
    ("psychiatric-nurse", "auditor"),
)
CLIENT_ROLE = Caller(
    "school-system",
    "Organization/demo-org-school-welfare",
    Sector.SCHOOL_WELFARE,
    "PractitionerRole/demo-role-curator",
    ("client",),
)
NO_ROLE = Caller(
    "school-system",
    "Organization/demo-org-school-welfare",
    Sector.SCHOOL_WELFARE,
    "PractitionerRole/demo-role-curator",
    (),
)


@dataclass(frozen=True)
class PolicyCase:
    name: str
    caller: Caller
    interaction: Interaction
    resource: str  # "Type/id", "Type" (type level) or "" (system level)
    want_effect: Effect
    want_reasons: tuple[str, ...]
    want_hidden: frozenset[Label] = frozenset()
    want_requires: frozenset[Basis] = frozenset()
    owners: tuple[Sector | UnknownSector, ...] = ()
    elements: frozenset[str] = frozenset()
    labels: frozenset[Label] = frozenset()
    scopes: tuple[Scope, ...] = EVERYTHING
    btg: bool = False
    patient: str | UnknownPatient = field(default=CLIENT)

    def request(self) -> AccessRequest:
        resource_type, _, resource_id = self.resource.partition("/")
        return AccessRequest(
            client_id=self.caller.client_id,
            organization=self.caller.organization,
            sector=self.caller.sector,
            practitioner_role=self.caller.practitioner_role,
            team_roles=self.caller.team_roles,
            scopes=self.scopes,
            purpose_of_use=PurposeOfUse.BTG if self.btg else PurposeOfUse.TREAT,
            btg_reason=BTG_REASON if self.btg else None,
            interaction=self.interaction,
            resource_type=resource_type or None,
            resource_id=resource_id or None,
            patient=self.patient,
            owning_sectors=self.owners,
            changed_elements=self.elements,
            labels=self.labels,
        )


P, D = Effect.PERMIT, Effect.DENY
I = Interaction  # noqa: E741 (a short name for the tables below)
CONSENT = frozenset({Basis.CONSENT})
NO_RULE = ("no-rule-permits",)
HIDDEN_PSY = ("write-touches-hidden-label", "psy-hidden-by-default")
SCHOOL, CHILD, PSYCH, YOUTH = (
    Sector.SCHOOL_WELFARE,
    Sector.CHILD_PROTECTION,
    Sector.HOSPITAL_PSYCHIATRY,
    Sector.MUNICIPAL_YOUTH_SERVICES,
)

CASES = [
    # the school curator (school welfare): reads the plan, writes own activities, sees no label
    PolicyCase("curator reads plan", CURATOR, I.READ, "CarePlan/demo-plan", P, ("school-welfare-reads-plan",), ALL),
    PolicyCase(
        "curator reads PSY goal: redacted",
        CURATOR,
        I.READ,
        "Goal/demo-goal-wellbeing",
        P,
        ("school-welfare-reads-plan", "psy-hidden-by-default"),
        ALL,
        labels=frozenset({PSY}),
    ),
    PolicyCase("curator searches teams", CURATOR, I.SEARCH, "CareTeam", P, ("school-welfare-reads-plan",), ALL),
    PolicyCase("curator reads client", CURATOR, I.READ, "Patient/demo-client", P, ("school-welfare-reads-plan",), ALL),
    PolicyCase(
        "curator reads history", CURATOR, I.HISTORY, "CarePlan/demo-plan", P, ("school-welfare-reads-plan",), ALL
    ),
    PolicyCase("curator may not read consent", CURATOR, I.READ, "Consent/demo-consent", D, NO_RULE),
    PolicyCase(
        "curator updates own activity",
        CURATOR,
        I.UPDATE,
        "CarePlan/demo-plan",
        P,
        ("school-welfare-writes-own-activities",),
        ALL,
        owners=(SCHOOL,),
    ),
    PolicyCase(
        "curator patches own activity",
        CURATOR,
        I.PATCH,
        "CarePlan/demo-plan",
        P,
        ("school-welfare-writes-own-activities",),
        ALL,
        owners=(SCHOOL,),
    ),
    PolicyCase(
        "curator may not touch psychiatry's PSY activity",
        CURATOR,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("write-outside-own-sector", *HIDDEN_PSY),
        owners=(SCHOOL, PSYCH),
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "curator may not change plan status",
        CURATOR,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("element-not-writable",),
        elements=frozenset({"status"}),
    ),
    PolicyCase("curator may not update goals", CURATOR, I.UPDATE, "Goal/demo-goal-studies", D, NO_RULE),
    PolicyCase(
        "curator (no longer personal worker) may not manage team", CURATOR, I.UPDATE, "CareTeam/demo-team", D, NO_RULE
    ),
    PolicyCase("curator may not create plans", CURATOR, I.CREATE, "CarePlan", D, NO_RULE),
    PolicyCase("curator may not delete", CURATOR, I.DELETE, "CarePlan/demo-plan", D, NO_RULE),
    PolicyCase(
        "curator breaks the glass to read PSY",
        CURATOR,
        I.READ,
        "Goal/demo-goal-wellbeing",
        P,
        ("school-welfare-reads-plan", "break-the-glass-read"),
        labels=frozenset({PSY}),
        btg=True,
    ),
    PolicyCase(
        "break-the-glass does not open writes",
        CURATOR,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        HIDDEN_PSY,
        owners=(SCHOOL,),
        labels=frozenset({PSY}),
        btg=True,
    ),
    PolicyCase("break-the-glass grants no rule", CURATOR, I.READ, "Consent/demo-consent", D, NO_RULE, btg=True),
    # scopes: SMART v2 letters, user/system context, no parameters
    PolicyCase(
        "read-only scope refuses update",
        CURATOR,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("scope-not-covered",),
        owners=(SCHOOL,),
        scopes=(parse_scope("system/CarePlan.rs"),),
    ),
    PolicyCase(
        "scope for another type",
        CURATOR,
        I.READ,
        "Goal/demo-goal-studies",
        D,
        ("scope-not-covered",),
        scopes=(parse_scope("system/CarePlan.rs"),),
    ),
    PolicyCase(
        "read without search letter",
        CURATOR,
        I.SEARCH,
        "CarePlan",
        D,
        ("scope-not-covered",),
        scopes=(parse_scope("system/CarePlan.r"),),
    ),
    PolicyCase(
        "user scope covers",
        CURATOR,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("school-welfare-reads-plan",),
        ALL,
        scopes=(parse_scope("user/CarePlan.rs"),),
    ),
    PolicyCase(
        "patient scope does not cover",
        CURATOR,
        I.READ,
        "CarePlan/demo-plan",
        D,
        ("scope-not-covered",),
        scopes=(parse_scope("patient/CarePlan.rs"),),
    ),
    PolicyCase(
        "parameterised scope does not cover",
        CURATOR,
        I.READ,
        "CarePlan/demo-plan",
        D,
        ("scope-not-covered",),
        scopes=(parse_scope("system/CarePlan.rs?category=shared-plan"),),
    ),
    PolicyCase("no scopes", CURATOR, I.READ, "CarePlan/demo-plan", D, ("scope-not-covered",), scopes=()),
    PolicyCase(
        "no rule and no scope",
        CURATOR,
        I.DELETE,
        "Goal/demo-goal-home",
        D,
        (*NO_RULE, "scope-not-covered"),
        scopes=(parse_scope("system/Goal.rs"),),
    ),
    # the aftercare social worker (child protection), also the personal worker
    PolicyCase(
        "social worker reads plan",
        SOCIAL_WORKER,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("social-welfare-reads-plan",),
        frozenset({PSY, ETH, R}),
    ),
    PolicyCase(
        "social worker sees SOC",
        SOCIAL_WORKER,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("social-welfare-reads-plan",),
        frozenset({PSY, ETH, R}),
        labels=frozenset({SOC}),
    ),
    PolicyCase(
        "social worker reads consent",
        SOCIAL_WORKER,
        I.READ,
        "Consent/demo-consent",
        P,
        ("social-welfare-reads-plan",),
        frozenset({PSY, ETH, R}),
    ),
    PolicyCase(
        "personal worker: own activity and plan status",
        SOCIAL_WORKER,
        I.UPDATE,
        "CarePlan/demo-plan",
        P,
        ("social-welfare-writes-own-activities", "personal-worker-updates-plan-status"),
        frozenset({PSY, ETH, R}),
        owners=(CHILD,),
        elements=frozenset({"status"}),
    ),
    PolicyCase(
        "personal worker may not retitle the plan",
        SOCIAL_WORKER,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("element-not-writable",),
        elements=frozenset({"status", "title"}),
    ),
    PolicyCase(
        "personal worker may not write school's activity",
        SOCIAL_WORKER,
        I.PATCH,
        "CarePlan/demo-plan",
        D,
        ("write-outside-own-sector",),
        owners=(SCHOOL,),
    ),
    PolicyCase(
        "an activity without owner is nobody's",
        SOCIAL_WORKER,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("write-outside-own-sector",),
        owners=(UnknownSector(),),
    ),
    PolicyCase(
        "personal worker updates a goal",
        SOCIAL_WORKER,
        I.UPDATE,
        "Goal/demo-goal-home",
        P,
        ("personal-worker-updates-goals",),
        frozenset({PSY, ETH, R}),
        elements=frozenset({"lifecycleStatus"}),
    ),
    PolicyCase(
        "personal worker may not update the PSY goal",
        SOCIAL_WORKER,
        I.UPDATE,
        "Goal/demo-goal-wellbeing",
        D,
        HIDDEN_PSY,
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "personal worker creates a team",
        SOCIAL_WORKER,
        I.CREATE,
        "CareTeam",
        P,
        ("personal-worker-manages-team", "social-services-form-team"),
        frozenset({PSY, ETH, R}),
        elements=frozenset({"status", "participant"}),
    ),
    PolicyCase(
        "personal worker hands over",
        SOCIAL_WORKER,
        I.UPDATE,
        "CareTeam/demo-team",
        P,
        ("personal-worker-manages-team",),
        frozenset({PSY, ETH, R}),
        elements=frozenset({"participant"}),
    ),
    PolicyCase(
        "personal worker ends a member of psychiatry",
        SOCIAL_WORKER,
        I.UPDATE,
        "CareTeam/demo-team",
        P,
        ("personal-worker-manages-team",),
        frozenset({PSY, ETH, R}),
        owners=(Sector.HOSPITAL_PSYCHIATRY, Sector.HOSPITAL_PSYCHIATRY),
    ),
    PolicyCase(
        "personal worker may not change a goal of psychiatry",
        SOCIAL_WORKER,
        I.UPDATE,
        "Goal/psy-goal",
        D,
        ("write-outside-own-sector",),
        owners=(Sector.HOSPITAL_PSYCHIATRY,),
    ),
    PolicyCase("personal worker may not create consents", SOCIAL_WORKER, I.CREATE, "Consent", D, NO_RULE),
    PolicyCase("personal worker may not delete a plan", SOCIAL_WORKER, I.DELETE, "CarePlan/demo-plan", D, NO_RULE),
    # hospital psychiatry: sees PSY and ETH, writes own activities
    PolicyCase(
        "nurse reads PSY goal",
        PSYCH_NURSE,
        I.READ,
        "Goal/demo-goal-wellbeing",
        P,
        ("psychiatry-reads-plan",),
        frozenset({SOC, R}),
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "nurse reads PSY condition",
        PSYCH_NURSE,
        I.READ,
        "Condition/demo-need-anxiety",
        P,
        ("psychiatry-reads-plan",),
        frozenset({SOC, R}),
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "nurse updates own PSY activity",
        PSYCH_NURSE,
        I.UPDATE,
        "CarePlan/demo-plan",
        P,
        ("psychiatry-writes-own-activities",),
        frozenset({SOC, R}),
        owners=(PSYCH,),
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "nurse may not write a SOC activity",
        PSYCH_NURSE,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("write-touches-hidden-label", "soc-hidden-by-default"),
        owners=(PSYCH,),
        labels=frozenset({SOC}),
    ),
    PolicyCase(
        "nurse: R is redacted",
        PSYCH_NURSE,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("psychiatry-reads-plan", "restricted-hidden-by-default"),
        frozenset({SOC, R}),
        labels=frozenset({R}),
    ),
    PolicyCase(
        "nurse may not update a shared goal",
        PSYCH_NURSE,
        I.UPDATE,
        "Goal/demo-goal-wellbeing",
        D,
        ("element-not-writable",),
        elements=frozenset({"lifecycleStatus"}),
    ),
    PolicyCase(
        "nurse updates a goal of psychiatry",
        PSYCH_NURSE,
        I.UPDATE,
        "Goal/psy-goal",
        P,
        ("psychiatry-records-own-goals",),
        frozenset({SOC, R}),
        owners=(Sector.HOSPITAL_PSYCHIATRY,),
    ),
    PolicyCase(
        "nurse may not take over the school's goal",
        PSYCH_NURSE,
        I.UPDATE,
        "Goal/school-goal",
        D,
        ("write-outside-own-sector",),
        owners=(Sector.SCHOOL_WELFARE, Sector.HOSPITAL_PSYCHIATRY),
    ),
    PolicyCase(
        "nurse records a problem of psychiatry",
        PSYCH_NURSE,
        I.CREATE,
        "Condition",
        P,
        ("psychiatry-records-own-problems",),
        frozenset({SOC, R}),
        owners=(Sector.HOSPITAL_PSYCHIATRY,),
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "nurse may not record an unowned problem",
        PSYCH_NURSE,
        I.CREATE,
        "Condition",
        D,
        ("element-not-writable",),
        elements=frozenset({"code", "subject"}),
    ),
    PolicyCase(
        "nurse adds a member of psychiatry to the team",
        PSYCH_NURSE,
        I.UPDATE,
        "CareTeam/demo-team",
        P,
        ("psychiatry-updates-own-team-members",),
        frozenset({SOC, R}),
        owners=(Sector.HOSPITAL_PSYCHIATRY,),
    ),
    PolicyCase(
        "nurse may not name a personal worker",
        PSYCH_NURSE,
        I.UPDATE,
        "CareTeam/demo-team",
        D,
        ("element-not-writable",),
        owners=(Sector.HOSPITAL_PSYCHIATRY,),
        elements=frozenset({"participant"}),
    ),
    PolicyCase(
        "nurse may not add the school's member",
        PSYCH_NURSE,
        I.UPDATE,
        "CareTeam/demo-team",
        D,
        ("write-outside-own-sector",),
        owners=(Sector.SCHOOL_WELFARE,),
    ),
    PolicyCase("nurse may not manage team", PSYCH_NURSE, I.CREATE, "CareTeam", D, NO_RULE),
    PolicyCase("nurse may not read consent", PSYCH_NURSE, I.SEARCH, "Consent", D, NO_RULE),
    PolicyCase(
        "psychiatrist reads plan",
        PSYCHIATRIST,
        I.VREAD,
        "CarePlan/demo-plan",
        P,
        ("psychiatry-reads-plan",),
        frozenset({SOC, R}),
    ),
    PolicyCase(
        "psychiatrist breaks the glass for R",
        PSYCHIATRIST,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("psychiatry-reads-plan", "break-the-glass-read"),
        labels=frozenset({R}),
        btg=True,
    ),
    PolicyCase(
        "psychiatrist may not write school's activity",
        PSYCHIATRIST,
        I.UPDATE,
        "CarePlan/demo-plan",
        D,
        ("write-outside-own-sector",),
        owners=(SCHOOL,),
    ),
    # the youth worker (municipality, outside the county): every permit needs a consent
    PolicyCase(
        "youth worker reads plan, with consent only",
        YOUTH_WORKER,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("youth-work-reads-plan", "consent-required-outside-county"),
        ALL,
        CONSENT,
    ),
    PolicyCase(
        "youth worker: PSY goal redacted",
        YOUTH_WORKER,
        I.READ,
        "Goal/demo-goal-wellbeing",
        P,
        ("youth-work-reads-plan", "consent-required-outside-county", "psy-hidden-by-default"),
        ALL,
        CONSENT,
        labels=frozenset({PSY}),
    ),
    PolicyCase(
        "youth worker reads team",
        YOUTH_WORKER,
        I.SEARCH,
        "CareTeam",
        P,
        ("youth-work-reads-plan", "consent-required-outside-county"),
        ALL,
        CONSENT,
        patient=UnknownPatient("no patient parameter"),
    ),
    PolicyCase("youth worker may not read conditions", YOUTH_WORKER, I.READ, "Condition/demo-need-anxiety", D, NO_RULE),
    PolicyCase("youth worker may not read consent", YOUTH_WORKER, I.READ, "Consent/demo-consent", D, NO_RULE),
    PolicyCase(
        "youth worker updates own activity, with consent only",
        YOUTH_WORKER,
        I.UPDATE,
        "CarePlan/demo-plan",
        P,
        ("youth-work-writes-own-activities", "consent-required-outside-county"),
        ALL,
        CONSENT,
        owners=(YOUTH,),
    ),
    PolicyCase(
        "youth worker breaks the glass: labels yes, consent still",
        YOUTH_WORKER,
        I.READ,
        "CarePlan/demo-plan",
        P,
        ("youth-work-reads-plan", "break-the-glass-read", "consent-required-outside-county"),
        frozenset(),
        CONSENT,
        btg=True,
    ),
    PolicyCase(
        "youth worker reads the directory",
        YOUTH_WORKER,
        I.READ,
        "Organization/demo-org-psychiatry",
        P,
        ("directory-read",),
        ALL,
    ),
    # auditors: the audit trail, no clinical access (deny overrides other roles)
    PolicyCase("auditor reads plan", AUDITOR, I.READ, "CarePlan/demo-plan", D, ("auditor-no-clinical-access",)),
    PolicyCase("auditor reads client", AUDITOR, I.READ, "Patient/demo-client", D, ("auditor-no-clinical-access",)),
    PolicyCase("auditor searches consents", AUDITOR, I.SEARCH, "Consent", D, ("auditor-no-clinical-access",)),
    PolicyCase("auditor updates team", AUDITOR, I.UPDATE, "CareTeam/demo-team", D, ("auditor-no-clinical-access",)),
    PolicyCase(
        "auditor breaks the glass", AUDITOR, I.READ, "Goal/demo-goal-home", D, ("auditor-no-clinical-access",), btg=True
    ),
    PolicyCase(
        "auditor searches the audit trail",
        AUDITOR,
        I.SEARCH,
        "AuditEvent",
        P,
        ("auditor-reads-audit-trail",),
        ALL,
        patient=UnknownPatient("audit search"),
    ),
    PolicyCase(
        "auditor without the scope",
        AUDITOR,
        I.SEARCH,
        "AuditEvent",
        D,
        ("scope-not-covered",),
        scopes=(parse_scope("system/CarePlan.rs"),),
    ),
    PolicyCase(
        "a nurse who audits has no clinical access",
        NURSE_AUDITOR,
        I.READ,
        "CarePlan/demo-plan",
        D,
        ("auditor-no-clinical-access",),
    ),
    PolicyCase("nurses may not read the audit trail", PSYCH_NURSE, I.SEARCH, "AuditEvent", D, NO_RULE),
    # system level and roles without rules
    PolicyCase(
        "capabilities for anyone",
        YOUTH_WORKER,
        I.CAPABILITIES,
        "",
        P,
        ("capabilities-for-every-caller",),
        ALL,
        scopes=(),
        patient=UnknownPatient("system level"),
    ),
    PolicyCase(
        "capabilities for auditors",
        AUDITOR,
        I.CAPABILITIES,
        "",
        P,
        ("capabilities-for-every-caller",),
        ALL,
        scopes=(),
        patient=UnknownPatient("system level"),
    ),
    PolicyCase(
        "a transaction envelope is not permitted",
        SOCIAL_WORKER,
        I.TRANSACTION,
        "",
        D,
        (*NO_RULE, "scope-not-covered"),
        patient=UnknownPatient("system level"),
    ),
    PolicyCase(
        "an operation on the plan is not a psychiatrist's", PSYCHIATRIST, I.OPERATION, "CarePlan/demo-plan", D, NO_RULE
    ),
    PolicyCase(
        "the personal worker exchanges plan documents",
        SOCIAL_WORKER,
        I.OPERATION,
        "CarePlan/demo-plan",
        P,
        ("personal-worker-exchanges-plan-documents",),
        frozenset({PSY, ETH, R}),
    ),
    PolicyCase("an operation on a goal is nobody's", SOCIAL_WORKER, I.OPERATION, "Goal/demo-goal-home", D, NO_RULE),
    PolicyCase(
        "every caller may verify a document (system level)",
        PSYCHIATRIST,
        I.OPERATION,
        "",
        P,
        ("documents-verified-for-every-caller",),
        frozenset({SOC, R}),
        scopes=(),
        patient=UnknownPatient("system level"),
    ),
    PolicyCase("system-wide search is not permitted", PSYCHIATRIST, I.SEARCH, "", D, (*NO_RULE, "scope-not-covered")),
    PolicyCase("the client role has no rules", CLIENT_ROLE, I.READ, "CarePlan/demo-plan", D, NO_RULE),
    PolicyCase("no team role, no access", NO_ROLE, I.READ, "CarePlan/demo-plan", D, NO_RULE),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_role_policy(case: PolicyCase) -> None:
    decision = POLICY.check(case.request())
    assert decision.effect is case.want_effect
    assert tuple(reason.code for reason in decision.reasons) == case.want_reasons
    assert decision.redactions.hidden == case.want_hidden
    assert decision.requires == case.want_requires
    assert decision.basis == (frozenset({Basis.ROLE}) if case.want_effect is P else frozenset())


def test_case_names_are_unique() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


def test_every_reason_cites_a_rule_uri_and_three_languages() -> None:
    for case in CASES:
        for reason in POLICY.check(case.request()).reasons:
            assert reason.rule == f"https://yhteys.fi/fhir/policy/rule/{reason.code}"
            assert reason.text_fi and reason.text_sv and reason.text_en


def test_role_policy_is_an_access_checker() -> None:
    checker: AccessChecker = POLICY
    assert checker.check(CASES[0].request()).effect is Effect.PERMIT


def test_an_exception_inside_is_a_deny() -> None:
    broken = CASES[0].request()
    object.__setattr__(broken, "scopes", ("system/*.cruds",))  # not Scope objects
    decision = POLICY.check(broken)
    assert decision.effect is Effect.DENY
    assert [reason.code for reason in decision.reasons] == ["decider-error"]


CONSENT_REASON = Reason(
    "consent-demo", "https://yhteys.fi/fhir/policy/rule/consent-demo", "suostumus", "samtycke", "consent"
)


@dataclass(frozen=True)
class SeamCase:
    name: str
    consent: AccessDecision | None  # None: no consent decider answered
    want_effect: Effect
    want_hidden: frozenset[Label] = frozenset()


SEAM_CASES = [
    SeamCase("no consent decision", None, Effect.DENY),
    SeamCase("no consent on file", AccessDecision(Effect.NOT_APPLICABLE, (CONSENT_REASON,)), Effect.DENY),
    SeamCase("consent refused", AccessDecision.deny(CONSENT_REASON), Effect.DENY),
    SeamCase(
        "consent names the organisation", AccessDecision.permit(Basis.CONSENT, CONSENT_REASON), Effect.PERMIT, ALL
    ),
    SeamCase(
        "consent permits PSY to the youth worker",
        AccessDecision.permit(Basis.CONSENT, CONSENT_REASON, lifts=frozenset({PSY})),
        Effect.PERMIT,
        frozenset({ETH, SOC, R}),
    ),
]


@pytest.mark.parametrize("case", SEAM_CASES, ids=lambda case: case.name)
def test_youth_worker_reads_only_with_a_consent(case: SeamCase) -> None:
    youth = next(c for c in CASES if c.name == "youth worker: PSY goal redacted")
    role = POLICY.check(youth.request())
    decision = combine(role) if case.consent is None else combine(role, case.consent)
    assert decision.effect is case.want_effect
    assert decision.reasons[: len(role.reasons)] == role.reasons
    if case.want_effect is Effect.PERMIT:
        assert decision.redactions.hidden == case.want_hidden


def test_the_shipped_policy_path() -> None:
    assert RULES_PATH.name == "rules.yaml" and RULES_PATH.is_file()


# --- malformed policy files: each stops start-up with a PolicyError that says why ----------


def _rules(data: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = data["rules"]
    return rules


def _set(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _duplicate_rule(data: dict[str, Any]) -> None:
    _rules(data).append(dict(_rules(data)[0]))


@dataclass(frozen=True)
class MalformedCase:
    name: str
    mutate: Callable[[dict[str, Any]], None]
    want_message: str


MALFORMED_CASES = [
    MalformedCase("unknown top-level key", _set(("enabled",), True), "unknown keys ['enabled']"),
    MalformedCase("unknown key in a rule", _set(("rules", 2, "lables"), ["PSY"]), "unknown keys ['lables']"),
    MalformedCase("missing key in a rule", _drop(("rules", 2, "roles")), "missing ['roles']"),
    MalformedCase("unknown sector", _set(("rules", 2, "sectors"), ["school"]), "unknown codes ['school']"),
    MalformedCase("unknown role", _set(("rules", 2, "roles"), ["curator"]), "unknown codes ['curator']"),
    MalformedCase("unknown label", _set(("rules", 2, "labels"), ["HIV"]), "unknown codes ['HIV']"),
    MalformedCase("unknown interaction", _set(("rules", 2, "interactions"), ["get"]), "unknown codes ['get']"),
    MalformedCase(
        "unknown resource type", _set(("rules", 2, "resource_types"), ["Careplan"]), "unknown codes ['Careplan']"
    ),
    MalformedCase("unknown write sector", _set(("rules", 3, "write_sectors"), ["mine"]), "unknown codes ['mine']"),
    MalformedCase("bad element name", _set(("rules", 3, "elements"), ["Status!"]), "elements must be"),
    MalformedCase("repeated code", _set(("rules", 2, "roles"), ["school-curator", "school-curator"]), "listed twice"),
    MalformedCase("empty interactions", _set(("rules", 2, "interactions"), []), "at least one item"),
    MalformedCase("duplicate id", _duplicate_rule, "is used twice"),
    MalformedCase("id outside our rule space", _set(("rules", 2, "id"), "https://example.org/rule/x"), "id must be"),
    MalformedCase(
        "id with upper case", _set(("rules", 2, "id"), "https://yhteys.fi/fhir/policy/rule/Read"), "id must be"
    ),
    MalformedCase("missing Swedish text", _drop(("rules", 2, "text", "sv")), "missing ['sv']"),
    MalformedCase("empty English text", _set(("rules", 2, "text", "en"), "  "), "text.en must be non-empty"),
    MalformedCase("Finnish text not a string", _set(("checks", "scope", "text", "fi"), 3), "text.fi must be non-empty"),
    MalformedCase("unknown text language", _set(("labels", "PSY", "text", "de"), "x"), "unknown keys ['de']"),
    MalformedCase("missing check", _drop(("checks", "error")), "missing ['error']"),
    MalformedCase("missing label reason", _drop(("labels", "R")), "missing ['R']"),
    MalformedCase("unknown effect", _set(("rules", 2, "effect"), "allow"), "effect must be permit or deny"),
    MalformedCase("deny rule granting labels", _set(("rules", -1, "labels"), ["PSY"]), "a deny rule grants nothing"),
    MalformedCase(
        "write sectors on a read rule", _set(("rules", 2, "write_sectors"), ["own"]), "need a write interaction"
    ),
    MalformedCase(
        "break-the-glass for writes", _set(("break_the_glass", "interactions"), ["read", "update"]), "reads only"
    ),
    MalformedCase(
        "break-the-glass unknown label", _set(("break_the_glass", "labels"), ["PSY", "X"]), "unknown codes ['X']"
    ),
    MalformedCase(
        "consent for unknown sector", _set(("consent_required", "sectors"), ["municipality"]), "unknown codes"
    ),
    MalformedCase(
        "read letter for a write", _set(("scope_letters", "update"), "r"), "not a SMART v2 letter for update"
    ),
    MalformedCase("a letter for batch", _set(("scope_letters", "batch"), "c"), "not a SMART v2 letter for batch"),
    MalformedCase("unknown interaction letter", _set(("scope_letters", "fetch"), "r"), "unknown codes ['fetch']"),
    MalformedCase("unknown version", _set(("version",), 2), "only version 1"),
    MalformedCase("no rules", _set(("rules",), []), "non-empty list"),
    MalformedCase("rule not a mapping", _set(("rules", 0), "permit all"), "must be a mapping"),
]


@pytest.mark.parametrize("case", MALFORMED_CASES, ids=lambda case: case.name)
def test_malformed_policy_is_refused(case: MalformedCase, tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    case.mutate(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert case.want_message in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "want_message"),
    [
        ("version: 1\nversion: 1\n", "mapping key 'version' is repeated"),
        ("rules: [\n", "cannot read the policy"),
        ("- just\n- a list\n", "the policy: must be a mapping"),
        ("", "the policy: must be a mapping"),
    ],
)
def test_unreadable_policy_is_refused(text: str, want_message: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=re.escape(want_message)):
        load_policy(path)


def test_missing_policy_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy"):
        load_policy(tmp_path / "absent.yaml")


def test_the_shipped_policy_round_trips() -> None:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    assert parse_policy(data) == POLICY.policy


def test_team_roles_and_sectors_follow_the_terminology() -> None:
    terminology = Path(__file__).parents[4] / "terminology"

    def codes(name: str) -> set[str]:
        return {concept["code"] for concept in json.loads((terminology / name).read_text(encoding="utf-8"))["concept"]}

    assert codes("CodeSystem-team-role.json") == set(TEAM_ROLES)
    assert codes("CodeSystem-sector.json") == {sector.value for sector in Sector}
