"""What one Consent resource (FHIR JSON) says, read strictly into `ConsentTerms`; pure functions.

`concerns(resource, patient)` tells whether a Consent binds the gateway for `patient`: status
active, patient.reference == `patient`, scope `consentscope#patient-privacy`. `terms_of`
reads such a Consent; both raise `MalformedConsent` for anything they cannot read with
certainty, and callers must then deny (a consent we misread might be a refusal).

Conforming means (PlanConsent, narrowed to what the gateway can evaluate): an id; every
policy has a uri; a base provision of type permit or deny with a period and nothing but
type, period, purpose, class and provision; nested provisions (one level) with a type and
nothing but type, period, actor, purpose, class and securityLabel; every actor has role
v3-ParticipationType#IRCP and references `Organization/<id>` or `PractitionerRole/<id>`;
purposes are v3-ActReason, classes http://hl7.org/fhir/resource-types, security labels one of
ours (`gateway.access.labels.label_of`); dates are FHIR date/dateTime. Elements the gateway cannot
evaluate (action, data, dataPeriod, code, modifierExtension) make a consent malformed.

Periods: a date without a time is Finnish local time (Europe/Helsinki); a period runs from
the first instant of `start` to the last instant of `end` at its precision (an end date
includes its whole day). HL7 Finland's RestrictionParent extension (a minor's decision on
disclosure to guardians) is read on the Consent itself: codes 3 and 4 bar guardians, and so
does any coding other than 1 or 2 (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from gateway.fhir.ids import is_id, reference_pattern
from gateway.fhir.labels import Label, label_of
from gateway.fhir.systems import (
    ACT_REASON_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    DISCLOSURE_DIRECTION_SYSTEM,
    PARTICIPATION_TYPE_SYSTEM,
    RESOURCE_TYPES_SYSTEM,
    RESTRICTION_PARENT,
    RESTRICTION_PARENT_SYSTEM,
)

__all__ = ["ConsentTerms", "MalformedConsent", "Period", "Provision", "concerns", "terms_of"]

_HELSINKI = ZoneInfo("Europe/Helsinki")
_ACTOR_REFERENCE = reference_pattern("Organization", "PractitionerRole")
_DIRECTIONS = frozenset({"social-to-health", "health-to-social"})
_DATE_TIME = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(Z|[+-]\d\d:\d\d))?)?)?")
_BASE_KEYS = frozenset({"id", "extension", "type", "period", "purpose", "class", "provision"})
_NESTED_KEYS = frozenset({"id", "extension", "type", "period", "actor", "purpose", "class", "securityLabel"})
_GUARDIANS_ALLOWED = frozenset({"1", "2"})


class MalformedConsent(ValueError):
    """A Consent that cannot be read with certainty; the message names the element."""


@dataclass(frozen=True)
class Period:
    """From `start` (inclusive) to `end` (exclusive); None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def covers(self, now: datetime) -> bool:
        """Whether the aware instant `now` lies in the period."""
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)


@dataclass(frozen=True)
class Provision:
    """One provision; `actors` are references, None for purposes/classes means "any"."""

    deny: bool
    period: Period
    actors: frozenset[str] = frozenset()
    purposes: frozenset[str] | None = None
    classes: frozenset[str] | None = None
    labels: frozenset[Label] = frozenset()


@dataclass(frozen=True)
class ConsentTerms:
    """A conforming Consent: its id, whether it bars guardians, its base and nested provisions."""

    id: str
    bars_guardians: bool
    base: Provision
    nested: tuple[Provision, ...]
    directions: frozenset[str] = frozenset()
    """Codes of `DISCLOSURE_DIRECTION_SYSTEM` in Consent.category: the register crossings it permits."""


def concerns(resource: object, patient: object) -> bool:
    """Whether `resource` is an active patient-privacy Consent about `patient` ("Patient/<id>")."""
    consent = _map(resource)
    if consent.get("resourceType") != "Consent":
        raise MalformedConsent("resourceType")
    if _text(consent.get("status")) != "active" or _text(_map(consent.get("patient")).get("reference")) != patient:
        return False
    return "patient-privacy" in _codes(_map(consent.get("scope")).get("coding"), CONSENT_SCOPE_SYSTEM, any_system=True)


def terms_of(resource: Mapping[str, object]) -> ConsentTerms:
    """The terms of a Consent for which `concerns` is true; raises `MalformedConsent`."""
    consent_id = _text(resource.get("id"))
    if not is_id(consent_id) or "modifierExtension" in resource:
        raise MalformedConsent("id or modifierExtension")
    for policy in _list(resource.get("policy")):
        _text(_map(policy).get("uri"))
    base = _map(resource.get("provision"))
    if "period" not in base:
        raise MalformedConsent("provision.period")
    nested = tuple(_provision(_map(p), _NESTED_KEYS) for p in _list(base.get("provision"), optional=True))
    bars = False
    for extension in _list(resource.get("extension"), optional=True):
        if _map(extension).get("url") == RESTRICTION_PARENT:
            coding = _map(_map(extension).get("valueCoding"))
            bars |= coding.get("system") != RESTRICTION_PARENT_SYSTEM or coding.get("code") not in _GUARDIANS_ALLOWED
    directions: frozenset[str] = frozenset().union(
        *(
            _codes(_map(category).get("coding") or [], DISCLOSURE_DIRECTION_SYSTEM, any_system=True)
            for category in _list(resource.get("category"), optional=True)
        )
    )
    if not directions <= _DIRECTIONS:
        raise MalformedConsent("category: unknown disclosure direction")
    return ConsentTerms(consent_id, bars, _provision(base, _BASE_KEYS), nested, directions)


def _provision(element: Mapping[str, object], allowed: frozenset[str]) -> Provision:
    if not element.keys() <= allowed:
        raise MalformedConsent(f"provision: {sorted(element.keys() - allowed)}")
    if element.get("type") not in ("permit", "deny"):
        raise MalformedConsent("provision.type")
    labels = [label_of(*_coding(c)) for c in _list(element.get("securityLabel"), optional=True)]
    if None in labels:
        raise MalformedConsent("provision.securityLabel")
    return Provision(
        deny=element["type"] == "deny",
        period=_period(_map(element["period"])) if "period" in element else Period(),
        actors=frozenset(_actor(_map(actor)) for actor in _list(element.get("actor"), optional=True)),
        purposes=_codes(element["purpose"], ACT_REASON_SYSTEM) if "purpose" in element else None,
        classes=_codes(element["class"], RESOURCE_TYPES_SYSTEM) if "class" in element else None,
        labels=frozenset(label for label in labels if label is not None),
    )


def _actor(actor: Mapping[str, object]) -> str:
    reference = _text(_map(actor.get("reference")).get("reference"))
    if "IRCP" not in _codes(_map(actor.get("role")).get("coding"), PARTICIPATION_TYPE_SYSTEM, any_system=True):
        raise MalformedConsent("provision.actor.role")
    if not _ACTOR_REFERENCE.fullmatch(reference):
        raise MalformedConsent("provision.actor.reference")
    return reference


def _period(period: Mapping[str, object]) -> Period:
    if not period.keys() <= {"id", "extension", "start", "end"}:
        raise MalformedConsent("period")
    start = _instants(_text(period["start"]))[0] if "start" in period else None
    end = _instants(_text(period["end"]))[1] if "end" in period else None
    return Period(start, end)


def _instants(text: str) -> tuple[datetime, datetime]:
    """The first instant of a FHIR date/dateTime and the first instant after it, at its precision."""
    match = _DATE_TIME.fullmatch(text)
    if not match:
        raise MalformedConsent(f"date {text!r}")
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is not None:
            offset = timedelta(0) if zone == "Z" else timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = timezone(-offset if zone.startswith("-") else offset)
            first = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
            return first, first + timedelta(seconds=1)
        y, m = int(year), int(month or 1)
        start = date(y, m, int(day or 1))
        if day:
            after = start + timedelta(days=1)
        else:
            after = date(y + m // 12, m % 12 + 1, 1) if month else date(y + 1, 1, 1)
    except ValueError:
        raise MalformedConsent(f"date {text!r}") from None
    midnight = datetime.min.time()
    return datetime.combine(start, midnight, _HELSINKI), datetime.combine(after, midnight, _HELSINKI)


def _codes(value: object, system: str, *, any_system: bool = False) -> frozenset[str]:
    """The codes of a list of Codings; with `any_system`, only those of `system` (others skipped)."""
    codes = set()
    for coding in _list(value):
        coding_system, code = _coding(coding)
        if coding_system == system:
            codes.add(code)
        elif not any_system:
            raise MalformedConsent(f"coding system {coding_system!r}")
    return frozenset(codes)


def _coding(value: object) -> tuple[str, str]:
    coding = _map(value)
    return _text(coding.get("system")), _text(coding.get("code"))


def _map(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise MalformedConsent("expected an object")
    return value


def _list(value: object, *, optional: bool = False) -> list[object]:
    if value is None and optional:
        return []
    if not isinstance(value, list) or not value:
        raise MalformedConsent("expected a non-empty array")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedConsent("expected a string")
    return value
