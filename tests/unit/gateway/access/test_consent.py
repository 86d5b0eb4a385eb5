"""The consent decider: a table of requests and consents with the decisions they must get.

Each case is `ConsentCase{name, request, consents, want_effect, want_reasons}` (ORCA's
AuthzPolicyTest, plus reasons): `want_reasons` are reason codes in order, `want_hidden` the
labels the consent refuses, `want_lifts` those it lifts. The consents are the demo consent
(`demo-consent`: youth services may read CarePlan/Goal/CareTeam for TREAT or CAREMGT; the
youth worker's role is refused PSY) and variations. Semantics, as the table shows them:

| consents on file | decision |
|---|---|
| unreadable, or a client's consent that does not conform | DENY |
| RestrictionParent 3/4 (or unknown) and a guardian asks | DENY; 1/2 do not block |
| base provision deny; a nested deny without label applying | DENY |
| a nested deny with labels applying | labels hidden, never lifted |
| a nested permit applying | PERMIT on consent, lifting its labels |
| none applying; none on file | NOT_APPLICABLE |
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from auth.scopes import parse_scope
from gateway.access.consent.decider import (
    ConsentPolicy,
    ConsentsOnFile,
    ConsentsRead,
    ConsentUnreadable,
    NoConsentOnFile,
)
from gateway.access.policy import load_policy
from gateway.access.seam import AccessDecision, AccessRequest, Basis, Effect, UnknownPatient, combine
from gateway.demo import demo_bundle
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import ETH, PSY, SOC, Label
from gateway.fhir.systems import (
    CONSENT_RULE_BASE,
    DISCLOSURE_DIRECTION_SYSTEM,
    RESTRICTION_PARENT,
    RESTRICTION_PARENT_SYSTEM,
)

ROLES = load_policy()
NOW = datetime(2027, 1, 15, 12, tzinfo=UTC)
CLIENT = "Patient/demo-client"
DEMO_RULE = CONSENT_RULE_BASE + "Consent/demo-consent"
IRCP = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}
PSY_CODING = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}
ETH_CODING = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}
CAREPLAN_CLASS = {"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}

Consent = dict[str, Any]


def _demo() -> Consent:
    entries = demo_bundle()["entry"]
    consent: Consent = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "Consent")
    return consent


def _variant(change: Callable[[Consent], object], consent_id: str = "demo-consent") -> Consent:
    """A deep copy of the demo consent, with id `consent_id`, changed by `change` in place."""
    consent = copy.deepcopy(_demo())
    consent["id"] = consent_id
    change(consent)
    return consent


def _nested(kind: str, actor: str | None, *, labels: list[dict[str, str]] | None = None, **more: Any) -> Consent:
    provision: Consent = {"type": kind, **more}
    if actor is not None:
        provision["actor"] = [{"role": IRCP, "reference": {"reference": actor}}]
    if labels:
        provision["securityLabel"] = labels
    return provision


def _provisions(*nested: Consent) -> Callable[[Consent], object]:
    return lambda consent: consent["provision"].__setitem__("provision", list(nested))


def _restriction(code: str) -> Callable[[Consent], object]:
    value = {"system": RESTRICTION_PARENT_SYSTEM, "code": code}
    return lambda consent: consent.__setitem__("extension", [{"url": RESTRICTION_PARENT, "valueCoding": value}])


def _on_file(*consents: Consent) -> ConsentsOnFile:
    return ConsentsOnFile(tuple(consents))


@dataclass(frozen=True)
class Caller:
    organization: str
    sector: Sector
    practitioner_role: str
    team_roles: tuple[str, ...]


YOUTH_WORKER = Caller(
    "Organization/demo-org-youth-services",
    Sector.MUNICIPAL_YOUTH_SERVICES,
    "PractitionerRole/demo-role-youth-worker",
    ("youth-worker",),
)
YOUTH_COLLEAGUE = Caller(
    "Organization/demo-org-youth-services",
    Sector.MUNICIPAL_YOUTH_SERVICES,
    "PractitionerRole/demo-role-youth-lead",
    ("youth-worker",),
)
CURATOR = Caller(
    "Organization/demo-org-school-welfare",
    Sector.SCHOOL_WELFARE,
    "PractitionerRole/demo-role-curator",
    ("school-curator",),
)
GUARDIAN = Caller("Organization/demo-org-social-welfare", Sector.SOCIAL_WELFARE,
                  "PractitionerRole/demo-role-guardian", ("guardian",))  # fmt: skip


def _request(
    caller: Caller,
    resource_type: str = "CarePlan",
    interaction: Interaction = Interaction.READ,
    purpose: PurposeOfUse = PurposeOfUse.TREAT,
) -> AccessRequest:
    return AccessRequest(
        client_id="test-system",
        organization=caller.organization,
        sector=caller.sector,
        practitioner_role=caller.practitioner_role,
        team_roles=caller.team_roles,
        scopes=(parse_scope("system/*.cruds"),),
        purpose_of_use=purpose,
        btg_reason="client in acute crisis, nurse not reachable" if purpose is PurposeOfUse.BTG else None,
        interaction=interaction,
        resource_type=resource_type,
        resource_id=None,
        patient=CLIENT,
    )


PERMIT_PSY_TO_CURATOR = _variant(
    _provisions(_nested("permit", CURATOR.practitioner_role, labels=[PSY_CODING], **{"class": [CAREPLAN_CLASS]})),
    "curator-psy",
)
PERMIT_PSY_TO_YOUTH = _variant(
    _provisions(_nested("permit", YOUTH_WORKER.organization, labels=[PSY_CODING])), "youth-psy"
)


@dataclass(frozen=True)
class ConsentCase:
    name: str
    request: AccessRequest
    consents: ConsentsRead
    want_effect: Effect
    want_reasons: tuple[str, ...]
    want_hidden: frozenset[Label] = frozenset()
    want_lifts: frozenset[Label] = frozenset()
    now: datetime = field(default=NOW)


YOUTH_READS = _request(YOUTH_WORKER)
DEMO = _on_file(_demo())
REFUSED_PSY = frozenset({PSY})

CASES = [
    ConsentCase("youth services read the plan under the demo consent, PSY refused to the youth worker",
                YOUTH_READS, DEMO, Effect.PERMIT, ("consent-permits", "consent-refuses-labels"), REFUSED_PSY),
    ConsentCase("another youth-services professional is not refused PSY", _request(YOUTH_COLLEAGUE), DEMO,
                Effect.PERMIT, ("consent-permits",)),
    ConsentCase("writes are subject to the consent too", _request(YOUTH_WORKER, interaction=Interaction.UPDATE),
                _on_file(_variant(lambda c: c["provision"].__setitem__("type", "deny"))), Effect.DENY,
                ("consent-refuses-all",)),
    ConsentCase("the demo consent withdrawn (inactive)", YOUTH_READS,
                _on_file(_variant(lambda c: c.__setitem__("status", "inactive"))), Effect.NOT_APPLICABLE,
                ("no-consent-permits",)),
    ConsentCase("the period is over (1 September 2027, 00:30 in Helsinki)", YOUTH_READS, DEMO,
                Effect.NOT_APPLICABLE, ("no-consent-permits",), now=datetime(2027, 8, 31, 21, 30, tzinfo=UTC)),
    ConsentCase("the end date includes its whole day (31 August 2027, 23:59 in Helsinki)", YOUTH_READS, DEMO,
                Effect.PERMIT, ("consent-permits", "consent-refuses-labels"), REFUSED_PSY,
                now=datetime(2027, 8, 31, 20, 59, tzinfo=UTC)),
    ConsentCase("not yet in force (31 August 2026, 23:59 in Helsinki)", YOUTH_READS, DEMO, Effect.NOT_APPLICABLE,
                ("no-consent-permits",), now=datetime(2026, 8, 31, 20, 59, tzinfo=UTC)),
    ConsentCase("a class the permit does not name: no permit, the refusal still hides PSY",
                _request(YOUTH_WORKER, "Condition"), DEMO, Effect.NOT_APPLICABLE,
                ("consent-refuses-labels", "no-consent-permits"), REFUSED_PSY),
    ConsentCase("a purpose the permit does not name (break the glass)",
                _request(YOUTH_WORKER, purpose=PurposeOfUse.BTG), DEMO, Effect.NOT_APPLICABLE,
                ("consent-refuses-labels", "no-consent-permits"), REFUSED_PSY),
    ConsentCase("a nested permit must also fit the base provision's purpose",
                _request(YOUTH_WORKER, purpose=PurposeOfUse.BTG),
                _on_file(_variant(lambda c: c["provision"]["provision"][0].pop("purpose"))), Effect.NOT_APPLICABLE,
                ("consent-refuses-labels", "no-consent-permits"), REFUSED_PSY),
    ConsentCase("a caller the consent does not name", _request(CURATOR), DEMO, Effect.NOT_APPLICABLE,
                ("no-consent-permits",)),
    ConsentCase("a consent permitting PSY to the curator's role lifts PSY", _request(CURATOR),
                _on_file(_demo(), PERMIT_PSY_TO_CURATOR), Effect.PERMIT,
                ("consent-permits", "consent-permits-labels"), want_lifts=REFUSED_PSY),
    ConsentCase("a refusal of PSY outweighs another consent's permit of PSY", YOUTH_READS,
                _on_file(_demo(), PERMIT_PSY_TO_YOUTH), Effect.PERMIT,
                ("consent-permits", "consent-permits", "consent-permits-labels", "consent-refuses-labels"),
                REFUSED_PSY),
    ConsentCase("a deny provision without label refuses the organisation", YOUTH_READS,
                _on_file(_variant(_provisions(_nested("deny", YOUTH_WORKER.organization)))), Effect.DENY,
                ("consent-denies",)),
    ConsentCase("deny overrides permit within one consent", YOUTH_READS,
                _on_file(_variant(lambda c: c["provision"]["provision"].append(
                    _nested("deny", YOUTH_WORKER.practitioner_role)))), Effect.DENY, ("consent-denies",)),
    ConsentCase("deny overrides permit across consents", YOUTH_READS,
                _on_file(_demo(), _variant(_provisions(_nested("deny", YOUTH_WORKER.organization)), "refusal")),
                Effect.DENY, ("consent-denies",)),
    ConsentCase("a base provision deny refuses everyone", _request(CURATOR),
                _on_file(_variant(lambda c: c["provision"].__setitem__("type", "deny"))), Effect.DENY,
                ("consent-refuses-all",)),
    ConsentCase("a labelled deny without actor applies to every caller", _request(CURATOR),
                _on_file(_variant(_provisions(_nested("deny", None, labels=[ETH_CODING])))), Effect.NOT_APPLICABLE,
                ("consent-refuses-labels", "no-consent-permits"), frozenset({ETH})),
    ConsentCase("a permit without actor permits nobody", _request(YOUTH_COLLEAGUE),
                _on_file(_variant(lambda c: c["provision"]["provision"][0].pop("actor"))), Effect.NOT_APPLICABLE,
                ("no-consent-permits",)),
    ConsentCase("a nested provision whose own period is over", YOUTH_READS,
                _on_file(_variant(lambda c: c["provision"]["provision"][0].__setitem__(
                    "period", {"end": "2026-12-31"}))), Effect.NOT_APPLICABLE,
                ("consent-refuses-labels", "no-consent-permits"), REFUSED_PSY),
    ConsentCase("another client's consent is ignored", YOUTH_READS,
                _on_file(_variant(lambda c: c["patient"].__setitem__("reference", "Patient/other"))),
                Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("a consent of another scope is ignored", YOUTH_READS,
                _on_file(_variant(lambda c: c["scope"]["coding"][0].__setitem__("code", "research"))),
                Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("a malformed consent that is not active is ignored", YOUTH_READS,
                _on_file(_variant(lambda c: c.update(status="inactive", provision=None))),
                Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("a request without a known client", replace(YOUTH_READS, patient=UnknownPatient("search")), DEMO,
                Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("no consent on file", YOUTH_READS, NoConsentOnFile(), Effect.NOT_APPLICABLE, ("no-consent-on-file",)),
    ConsentCase("consents unreadable", YOUTH_READS, ConsentUnreadable("connection refused"), Effect.DENY,
                ("consent-unreadable",)),
    ConsentCase("RestrictionParent 3 shuts out a guardian", _request(GUARDIAN), _on_file(_variant(_restriction("3"))),
                Effect.DENY, ("consent-restricts-guardians",)),
    ConsentCase("RestrictionParent 4 shuts out a guardian", _request(GUARDIAN), _on_file(_variant(_restriction("4"))),
                Effect.DENY, ("consent-restricts-guardians",)),
    ConsentCase("RestrictionParent 3 holds after the consent's period", _request(GUARDIAN),
                _on_file(_variant(_restriction("3"))), Effect.DENY, ("consent-restricts-guardians",),
                now=datetime(2028, 1, 1, tzinfo=UTC)),
    ConsentCase("an unknown RestrictionParent code shuts out a guardian", _request(GUARDIAN),
                _on_file(_variant(_restriction("9"))), Effect.DENY, ("consent-restricts-guardians",)),
    ConsentCase("RestrictionParent 1 does not block a guardian", _request(GUARDIAN),
                _on_file(_variant(_restriction("1"))), Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("RestrictionParent 2 does not block a guardian", _request(GUARDIAN),
                _on_file(_variant(_restriction("2"))), Effect.NOT_APPLICABLE, ("no-consent-permits",)),
    ConsentCase("RestrictionParent 3 does not concern a youth worker", YOUTH_READS,
                _on_file(_variant(_restriction("3"))), Effect.PERMIT, ("consent-permits", "consent-refuses-labels"),
                REFUSED_PSY),
]  # fmt: skip

MALFORMED: list[tuple[str, Callable[[Consent], object]]] = [
    ("no policy", lambda c: c.pop("policy")),
    ("a policy without uri", lambda c: c.__setitem__("policy", [{"reference": {"reference": "Contract/x"}}])),
    ("no provision", lambda c: c.pop("provision")),
    ("no base period", lambda c: c["provision"].pop("period")),
    ("an unreadable date", lambda c: c["provision"]["period"].__setitem__("end", "31.8.2027")),
    ("an impossible date", lambda c: c["provision"]["period"].__setitem__("end", "2027-02-30")),
    ("no patient", lambda c: c.pop("patient")),
    ("no scope", lambda c: c.pop("scope")),
    ("no id", lambda c: c.pop("id")),
    ("a nested provision without type", lambda c: c["provision"]["provision"][0].pop("type")),
    ("an actor that is not an information recipient",
     lambda c: c["provision"]["provision"][0]["actor"][0]["role"]["coding"][0].__setitem__("code", "PRCP")),
    ("an actor that is a patient",
     lambda c: c["provision"]["provision"][0]["actor"][0]["reference"].__setitem__("reference", "Patient/x")),
    ("an element the gateway cannot evaluate (action)",
     lambda c: c["provision"]["provision"][0].__setitem__("action", [{"text": "access"}])),
    ("deeper nesting", lambda c: c["provision"]["provision"][0].__setitem__("provision", [{"type": "deny"}])),
    ("a purpose of another system",
     lambda c: c["provision"]["provision"][0]["purpose"][0].__setitem__("system", "urn:example")),
    ("a security label that is none of ours",
     lambda c: c["provision"]["provision"][1]["securityLabel"][0].__setitem__("code", "HIV")),
    ("an empty array", lambda c: c["provision"]["provision"][0].__setitem__("class", [])),
    ("a modifier extension", lambda c: c.__setitem__("modifierExtension", [{"url": "urn:x", "valueBoolean": True}])),
]  # fmt: skip

CASES += [
    ConsentCase(f"malformed: {name}", YOUTH_READS, _on_file(_demo(), _variant(change)), Effect.DENY,
                ("consent-malformed",))
    for name, change in MALFORMED
]  # fmt: skip


def _check(case: ConsentCase) -> AccessDecision:
    return ConsentPolicy(clock=case.now.timestamp).check(case.request, case.consents)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_consent_decision(case: ConsentCase) -> None:
    decision = _check(case)
    assert decision.effect is case.want_effect
    assert tuple(reason.code for reason in decision.reasons) == case.want_reasons
    assert decision.redactions.hidden == case.want_hidden
    assert decision.lifts == case.want_lifts
    assert decision.basis == (frozenset({Basis.CONSENT}) if case.want_effect is Effect.PERMIT else frozenset())
    assert decision.requires == frozenset()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_reason_cites_a_rule_and_speaks_three_languages(case: ConsentCase) -> None:
    for reason in _check(case).reasons:
        assert reason.rule.startswith(CONSENT_RULE_BASE)
        assert all(text and "{}" not in text for text in (reason.text_fi, reason.text_sv, reason.text_en))


def test_reasons_about_a_consent_cite_it() -> None:
    decision = ConsentPolicy(clock=NOW.timestamp).check(YOUTH_READS, DEMO)
    assert [reason.rule for reason in decision.reasons] == [DEMO_RULE, DEMO_RULE]
    assert "PSY" in decision.reasons[1].text_en


def test_a_failing_clock_denies() -> None:
    def broken() -> float:
        raise OSError("no time")

    decision = ConsentPolicy(clock=broken).check(YOUTH_READS, DEMO)
    assert decision.effect is Effect.DENY and decision.reasons[0].code == "consent-error"


def test_consents_on_file_are_never_empty() -> None:
    with pytest.raises(ValueError, match="NoConsentOnFile"):
        ConsentsOnFile(())


def _combined(request: AccessRequest, consents: ConsentsRead) -> AccessDecision:
    return combine(ROLES.check(request), ConsentPolicy(clock=NOW.timestamp).check(request, consents))


def test_combined_youth_worker_reads_the_plan_without_psy() -> None:
    decision = _combined(YOUTH_READS, DEMO)
    assert decision.effect is Effect.PERMIT and decision.basis == frozenset({Basis.ROLE, Basis.CONSENT})
    assert PSY in decision.redactions.hidden


def test_combined_a_consent_refusal_is_lifted_by_nothing() -> None:
    lifted = _combined(YOUTH_READS, _on_file(PERMIT_PSY_TO_YOUTH))
    assert lifted.effect is Effect.PERMIT and PSY not in lifted.redactions.hidden
    refused = _combined(YOUTH_READS, _on_file(_demo(), PERMIT_PSY_TO_YOUTH))
    assert refused.effect is Effect.PERMIT and PSY in refused.redactions.hidden


def test_combined_a_consent_lifts_psy_for_the_curator() -> None:
    assert PSY in _combined(_request(CURATOR), DEMO).redactions.hidden
    decision = _combined(_request(CURATOR), _on_file(_demo(), PERMIT_PSY_TO_CURATOR))
    assert decision.effect is Effect.PERMIT and PSY not in decision.redactions.hidden


@pytest.mark.parametrize(
    ("consents", "want_youth", "want_curator"),
    [
        (NoConsentOnFile(), Effect.DENY, Effect.PERMIT),
        (_on_file(_variant(lambda c: c.__setitem__("status", "inactive"))), Effect.DENY, Effect.PERMIT),
        (DEMO, Effect.PERMIT, Effect.PERMIT),
        (ConsentUnreadable("timeout"), Effect.DENY, Effect.DENY),
    ],
    ids=["no consent on file", "consent withdrawn", "demo consent", "unreadable"],
)
def test_combined_consent_is_required_only_outside_the_county(
    consents: ConsentsRead, want_youth: Effect, want_curator: Effect
) -> None:
    assert _combined(YOUTH_READS, consents).effect is want_youth
    assert _combined(_request(CURATOR), consents).effect is want_curator


PSYCH_NURSE = Caller(
    "Organization/demo-org-psychiatry",
    Sector.HOSPITAL_PSYCHIATRY,
    "PractitionerRole/demo-role-psych-nurse",
    ("psychiatric-nurse",),
)
SOCIAL_WORKER = Caller("Organization/demo-org-social-welfare", Sector.CHILD_PROTECTION,
                       "PractitionerRole/demo-role-social-worker", ("aftercare-social-worker",))  # fmt: skip
SOC_CODING = {"system": "https://yhteys.fi/fhir/CodeSystem/sensitivity", "code": "SOC"}


def _direction(code: str | None) -> Callable[[Consent], object]:
    def change(consent: Consent) -> None:
        if code:
            consent["category"].append({"coding": [{"system": DISCLOSURE_DIRECTION_SYSTEM, "code": code}]})

    return change


def _crossing_consent(actor: str, label: dict[str, str], direction: str | None) -> Consent:
    consent = _variant(_provisions(_nested("permit", actor, labels=[label])), f"direction-{direction}")
    _direction(direction)(consent)
    return consent


@pytest.mark.parametrize(
    ("caller", "label", "coding", "direction", "lifted"),
    [
        (PSYCH_NURSE, SOC, SOC_CODING, None, False),  # social → health needs that direction (check 6)
        (PSYCH_NURSE, SOC, SOC_CODING, "health-to-social", False),  # the other direction is not enough
        (PSYCH_NURSE, SOC, SOC_CODING, "social-to-health", True),
        (SOCIAL_WORKER, PSY, PSY_CODING, None, False),  # health → social likewise
        (SOCIAL_WORKER, PSY, PSY_CODING, "health-to-social", True),
        (CURATOR, PSY, PSY_CODING, None, True),  # school welfare is outside both registers' rule
    ],
    ids=["soc-to-nurse-no-direction", "soc-to-nurse-wrong-direction", "soc-to-nurse-social-to-health",
         "psy-to-social-worker-no-direction", "psy-to-social-worker-health-to-social", "psy-to-curator"],
)  # fmt: skip
def test_a_disclosure_between_the_registers_needs_a_consent_in_that_direction(
    caller: Caller, label: Label, coding: dict[str, str], direction: str | None, lifted: bool
) -> None:
    consent = _crossing_consent(caller.organization, coding, direction)
    decision = _combined(_request(caller), _on_file(consent))
    assert decision.effect is Effect.PERMIT  # the role still reads the plan; only the label is at stake
    assert (label not in decision.redactions.hidden) is lifted
    codes = {reason.code for reason in decision.reasons}
    assert ("consent-lacks-direction" in codes) is (not lifted and caller is not CURATOR)
