"""The client's consent as a decider: Consent resources (FHIR JSON) in, an `AccessDecision` out.

`ConsentPolicy(clock).check(request, on_file)` is pure and never raises (an exception inside is
a DENY, `consent-error`). `on_file` is what `gateway.store.consents.read_consents` found for the
request's client *for this very request*, as a value, never None: `ConsentsOnFile`,
`NoConsentOnFile` (which is not a refusal) or `ConsentUnreadable`. The caller's duty: read
afresh for every request (no cache: a withdrawal applies to the next request) and pass the
decision through `gateway.access.seam.combine` with the role decision.

Only the client's consents count: status active, patient == `request.patient`, scope
patient-privacy (`gateway.access.consent.terms.concerns`); others are ignored. One of those that does
not conform (`gateway.access.consent.terms.terms_of`) denies everything: a misread consent might be a
refusal. A consent is in force while its base provision.period covers now.

| on file, or said by a client's consent | decision (reason code) |
|---|---|
| ConsentUnreadable | DENY (consent-unreadable) |
| a client's consent that does not conform | DENY (consent-malformed) |
| RestrictionParent 3 or 4 (or unknown), caller's team_roles include guardian | DENY (consent-restricts-guardians), in force or not |
| in force, base provision deny | DENY (consent-refuses-all), whoever asks |
| in force, a nested deny without securityLabel applies | DENY (consent-denies) |
| in force, a nested deny with securityLabel applies | its labels hidden; nothing lifts them (consent-refuses-labels) |
| in force, a nested permit applies | PERMIT on CONSENT (consent-permits), lifting its labels (consent-permits-labels) |
| … a label crossing registers (SOC to health care; PSY, ETH to social welfare) without that direction in category | that label is not lifted (consent-lacks-direction) |
| consents on file, no permit applies | NOT_APPLICABLE (no-consent-permits), refused labels still hidden |
| NoConsentOnFile | NOT_APPLICABLE (no-consent-on-file) |

NOT_APPLICABLE is no refusal: in `combine` a role permit still stands, unless it `requires` a
consent basis (outside the county), which then fails. A nested provision applies when its
period (if any) covers now, its purpose (if any) holds the request's purpose_of_use, its class
(if any) the request's resource type, and an actor is the caller's organization or
practitioner_role. A deny without actor applies to every caller; a permit without actor to
nobody (a consent permits only recipients it names), and a permit must also fit the base
provision's purpose and class. Reads and writes alike are subject to the consent. Every reason
has fi, sv and en texts; one about a consent cites it as rule `<CONSENT_RULE_BASE>Consent/<id>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from auth.clock import Clock, system_clock
from gateway.access.consent.terms import ConsentTerms, MalformedConsent, Provision, concerns, terms_of
from gateway.access.seam import AccessDecision, AccessRequest, Basis, Effect, Reason, Redaction
from gateway.fhir.codes import GUARDIAN, Sector
from gateway.fhir.ids import is_id
from gateway.fhir.labels import ETH, PSY, SOC, Label
from gateway.fhir.systems import CONSENT_RULE_BASE

__all__ = [
    "ConsentPolicy", "ConsentUnreadable", "ConsentsOnFile", "ConsentsRead", "NoConsentOnFile", "consent_reasons",
]  # fmt: skip


@dataclass(frozen=True)
class ConsentsOnFile:
    """The Consent resources found for the client (at least one; FHIR JSON as read)."""

    consents: tuple[Mapping[str, object], ...]

    def __post_init__(self) -> None:
        if not self.consents:
            raise ValueError("ConsentsOnFile needs at least one Consent; use NoConsentOnFile")

    def terms_for(self, patient: object) -> list[ConsentTerms] | Mapping[str, object]:
        """The terms of the consents that concern `patient`, or the first malformed one.

        Parsed once per patient for this value (one request's reading), then remembered:
        a response of many resources of one client does not parse its consents again.
        """
        remembered: dict[object, list[ConsentTerms] | Mapping[str, object]] = self.__dict__.setdefault("_terms", {})
        if patient not in remembered:
            remembered[patient] = _terms(self.consents, patient)
        return remembered[patient]


def _terms(resources: tuple[Mapping[str, object], ...], patient: object) -> list[ConsentTerms] | Mapping[str, object]:
    consents: list[ConsentTerms] = []
    for resource in resources:
        try:
            if concerns(resource, patient):
                consents.append(terms_of(resource))
        except MalformedConsent:
            return resource
    return consents


@dataclass(frozen=True)
class NoConsentOnFile:
    """The store answered and holds no consent for the client: nothing permits, nothing refuses."""


@dataclass(frozen=True)
class ConsentUnreadable:
    """The consents could not be read (`why` is for logs, never for the caller): deny."""

    why: str


ConsentsRead = ConsentsOnFile | NoConsentOnFile | ConsentUnreadable
"""What a consent read yields, never None: the decider's second argument."""


_LABEL_REGISTER = {SOC: "social", PSY: "health", ETH: "health"}
_SECTOR_REGISTER = {
    Sector.HOSPITAL_PSYCHIATRY: "health", Sector.PRIMARY_HEALTH_CARE: "health",
    Sector.SOCIAL_WELFARE: "social", Sector.CHILD_PROTECTION: "social",
}  # fmt: skip

_UNREADABLE = Reason(
    "consent-unreadable", CONSENT_RULE_BASE + "consent-unreadable",
    "Asiakkaan suostumuksia ei voitu lukea, joten pääsy estetään.",
    "Klientens samtycken kunde inte läsas, så åtkomsten nekas.",
    "The client's consents could not be read; access is denied.",
)  # fmt: skip
_ERROR = Reason(
    "consent-error", CONSENT_RULE_BASE + "consent-error",
    "Suostumuksen tarkistus epäonnistui, joten pääsy estetään.",
    "Kontrollen av samtycket misslyckades, så åtkomsten nekas.",
    "The consent check failed; access is denied.",
)  # fmt: skip
_NO_CONSENT = Reason(
    "no-consent-on-file", CONSENT_RULE_BASE + "no-consent-on-file",
    "Asiakkaalla ei ole tallennettua suostumusta; suostumusta edellyttävä pääsy ei ole mahdollista.",
    "Klienten har inget registrerat samtycke; åtkomst som kräver samtycke är inte möjlig.",
    "The client has no consent on file; access that requires a consent is not possible.",
)  # fmt: skip
_NO_PERMIT = Reason(
    "no-consent-permits", CONSENT_RULE_BASE + "no-consent-permits",
    "Mikään asiakkaan voimassa olevista suostumuksista ei salli tätä pyyntöä.",
    "Inget av klientens gällande samtycken tillåter denna begäran.",
    "None of the client's consents in force permits this request.",
)  # fmt: skip
_TEXTS = {
    "consent-malformed": (
        "Asiakkaan suostumusta ei voitu tulkita, joten pääsy estetään.",
        "Klientens samtycke kunde inte tolkas, så åtkomsten nekas.",
        "The client's consent could not be interpreted; access is denied."),
    "consent-restricts-guardians": (
        "Alaikäisen päätös estää hänen tietojensa luovuttamisen huoltajille.",
        "Den minderårigas beslut hindrar att uppgifterna lämnas ut till vårdnadshavarna.",
        "The minor's decision bars disclosure of their information to guardians."),
    "consent-refuses-all": (
        "Asiakas on suostumuksessaan kieltänyt tietojensa luovuttamisen.",
        "Klienten har i sitt samtycke förbjudit utlämnande av sina uppgifter.",
        "The client's consent refuses disclosure of their information."),
    "consent-denies": (
        "Asiakkaan suostumus kieltää tietojen luovuttamisen organisaatiollesi tai roolillesi.",
        "Klientens samtycke förbjuder utlämnande av uppgifterna till din organisation eller roll.",
        "The client's consent refuses disclosure to your organisation or role."),
    "consent-refuses-labels": (
        "Asiakkaan suostumus kieltää suojattujen tietojen ({}) luovuttamisen sinulle; ne piilotetaan.",
        "Klientens samtycke förbjuder utlämnande av skyddade uppgifter ({}) till dig; de döljs.",
        "The client's consent refuses you protected information ({}); it is hidden."),
    "consent-permits": (
        "Asiakkaan suostumus sallii tietojen luovuttamisen organisaatiollesi tai roolillesi tähän tarkoitukseen.",
        "Klientens samtycke tillåter utlämnande av uppgifterna till din organisation eller roll för detta ändamål.",
        "The client's consent permits disclosure to your organisation or role for this purpose."),
    "consent-lacks-direction": (
        "Suostumus ei salli tietojen ({}) luovuttamista sosiaali- ja terveydenhuollon rekisterien välillä tähän suuntaan; ne piilotetaan.",
        "Samtycket tillåter inte utlämnande av uppgifterna ({}) mellan social- och hälsovårdens register i denna riktning; de döljs.",
        "The consent does not permit disclosing this information ({}) between the social welfare and health registers in this direction; it is hidden."),
    "consent-permits-labels": (
        "Asiakkaan suostumus sallii sinulle myös suojatut tiedot ({}).",
        "Klientens samtycke tillåter dig även skyddade uppgifter ({}).",
        "The client's consent also permits you protected information ({})."),
}  # fmt: skip


def consent_reasons() -> tuple[Reason, ...]:
    """Every reason this decider gives under a rule that cites no consent: the consents unreadable,
    the check failed, no consent on file, none permits, and a malformed consent without a usable id."""
    return (
        _UNREADABLE,
        _ERROR,
        _NO_CONSENT,
        _NO_PERMIT,
        _about(CONSENT_RULE_BASE + "consent-malformed", "consent-malformed"),
    )


def _about(rule: str, code: str, labels: frozenset[Label] = frozenset()) -> Reason:
    """The reason `code` about the consent cited by `rule`, naming `labels` where the text has room."""
    named = ", ".join(sorted(label.code for label in labels))
    fi, sv, en = (text.format(named) for text in _TEXTS[code])
    return Reason(code, rule, fi, sv, en)


def guardian_refusals(on_file: ConsentsRead, patient: str) -> tuple[Reason, ...]:
    """Why a guardian may not act for the minor `patient` ("Patient/<id>"), on what is on file for
    her: empty when nothing bars them. Closed: consents that cannot be read or understood bar them,
    as does any of her consents whose RestrictionParent is 3 or 4 (or unknown). Never raises."""
    try:
        if isinstance(on_file, ConsentUnreadable):
            return (_UNREADABLE,)
        if isinstance(on_file, NoConsentOnFile):
            return ()
        consents = on_file.terms_for(patient)
        if not isinstance(consents, list):
            return (_about(_rule(consents), "consent-malformed"),)
        return tuple(
            _about(CONSENT_RULE_BASE + "Consent/" + consent.id, "consent-restricts-guardians")
            for consent in consents
            if consent.bars_guardians
        )
    except Exception:
        return (_ERROR,)


@dataclass(frozen=True)
class ConsentPolicy:
    """The consent decider; `clock` (POSIX seconds) is the "now" provision periods are read against."""

    clock: Clock = system_clock

    def check(self, request: AccessRequest, on_file: ConsentsRead) -> AccessDecision:
        """The consent decision for `request`, given what is on file for its client; never raises."""
        try:
            return _decide(request, on_file, datetime.fromtimestamp(self.clock(), UTC))
        except Exception:
            return AccessDecision.deny(_ERROR)


def _decide(request: AccessRequest, on_file: ConsentsRead, now: datetime) -> AccessDecision:
    if isinstance(on_file, ConsentUnreadable):
        return AccessDecision.deny(_UNREADABLE)
    if isinstance(on_file, NoConsentOnFile):
        return AccessDecision(Effect.NOT_APPLICABLE, (_NO_CONSENT,))
    consents = on_file.terms_for(request.patient)
    if not isinstance(consents, list):
        return AccessDecision.deny(_about(_rule(consents), "consent-malformed"))
    denials: list[Reason] = []
    permits: list[Reason] = []
    refusals: list[Reason] = []
    hidden: set[Label] = set()
    lifts: set[Label] = set()
    for consent in consents:
        rule = CONSENT_RULE_BASE + "Consent/" + consent.id
        if consent.bars_guardians and GUARDIAN in request.team_roles:
            denials.append(_about(rule, "consent-restricts-guardians"))
        if not consent.base.period.covers(now):
            continue
        if consent.base.deny:
            denials.append(_about(rule, "consent-refuses-all"))
            continue
        for provision in consent.nested:
            if not _applies(provision, consent.base, request, now):
                continue
            if provision.deny and not provision.labels:
                denials.append(_about(rule, "consent-denies"))
            elif provision.deny:
                hidden |= provision.labels
                refusals.append(_about(rule, "consent-refuses-labels", provision.labels))
            else:
                unlifted = _crossing(provision.labels, request.sector, consent.directions)
                lifts |= provision.labels - unlifted
                permits.append(_about(rule, "consent-permits"))
                if provision.labels - unlifted:
                    permits.append(_about(rule, "consent-permits-labels", provision.labels - unlifted))
                if unlifted:
                    refusals.append(_about(rule, "consent-lacks-direction", unlifted))
    if denials:
        return AccessDecision.deny(*dict.fromkeys(denials))
    reasons = tuple(dict.fromkeys(permits + refusals))
    if permits:
        return AccessDecision.permit(Basis.CONSENT, *reasons, hidden=frozenset(hidden), lifts=frozenset(lifts - hidden))
    return AccessDecision(Effect.NOT_APPLICABLE, (*reasons, _NO_PERMIT), Redaction(frozenset(hidden)))


def _crossing(labels: frozenset[Label], sector: Sector, directions: frozenset[str]) -> frozenset[Label]:
    """The labels whose disclosure to `sector` crosses registers in a direction not permitted.

    Finland keeps social welfare and health client data in separate registers; a consent
    lifts SOC for a health care professional, or PSY and ETH for a social welfare
    professional, only if its category names that direction (`DISCLOSURE_DIRECTION_SYSTEM`).
    """
    to = _SECTOR_REGISTER.get(sector)
    if to is None:
        return frozenset()
    return frozenset(
        label for label in labels
        if (source := _LABEL_REGISTER.get(label)) not in (None, to) and f"{source}-to-{to}" not in directions
    )  # fmt: skip


def _applies(provision: Provision, base: Provision, request: AccessRequest, now: datetime) -> bool:
    """Whether a nested provision applies to `request` (see the module docstring)."""
    if not provision.period.covers(now):
        return False
    if provision.actors:
        if not provision.actors & {request.organization, request.practitioner_role}:
            return False
    elif not provision.deny:
        return False
    purpose, kind = request.purpose_of_use.value, request.resource_type
    return all(
        (scope.purposes is None or purpose in scope.purposes) and (scope.classes is None or kind in scope.classes)
        for scope in ((provision,) if provision.deny else (provision, base))
    )


def _rule(resource: object) -> str:
    """The rule citing `resource`, or the generic one when it has no usable id."""
    consent_id = resource.get("id") if isinstance(resource, Mapping) else None
    if is_id(consent_id):
        return CONSENT_RULE_BASE + "Consent/" + consent_id
    return CONSENT_RULE_BASE + "consent-malformed"
