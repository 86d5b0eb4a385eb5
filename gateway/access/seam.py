"""The seam between the request path and its deciders: what they see, and what they answer.

A decider (`AccessChecker`) gets a frozen `AccessRequest`, the immutable subset of a request
and its principal, and returns an `AccessDecision` (never a bare bool); it is pure, no I/O.

`combine` is deny-overrides and closed: any DENY → DENY; no PERMIT → NOT_APPLICABLE; a PERMIT
that `requires` a basis (the role policy's "only with a consent naming the reader") → DENY
unless some PERMIT rests on that basis. Reasons are concatenated (first occurrence kept).
Hidden labels are the union of all redactions minus what a PERMIT resting on CONSENT `lifts`
(a consent's permit-with-labels, e.g. PSY to Organization/x); consent refusals are redactions.

The caller's duty: pass every decision through `combine` (even a single one, so requirements
are enforced), treat anything but PERMIT as a denial, and on PERMIT remove from the response
every resource or plan activity carrying a label in `decision.redactions.hidden`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from auth.principal import Principal
from auth.scopes import Scope
from gateway.fhir.codes import PERSONAL_WORKER, Interaction, PurposeOfUse, Sector
from gateway.fhir.ids import PATIENT_REFERENCE
from gateway.fhir.labels import Label

__all__ = [
    "AccessChecker", "AccessDecision", "AccessRequest", "Basis", "Effect", "Reason", "Redaction", "UnknownPatient",
    "UnknownSector", "Withheld", "combine",
]  # fmt: skip


class Effect(StrEnum):
    """A decider's answer. NOT_APPLICABLE is not a permit: the seam denies it."""

    PERMIT = "permit"
    DENY = "deny"
    NOT_APPLICABLE = "not-applicable"


class Basis(StrEnum):
    """What a decision rests on: the caller's role, or the client's consent."""

    ROLE = "role"
    CONSENT = "consent"


@dataclass(frozen=True)
class Reason:
    """Why a decision came out as it did: a short code, the URI of the rule, and texts.

    `rule` is fit for AuditEvent.agent.policy; the texts go into OperationOutcome.issue.details.
    """

    code: str
    rule: str
    text_fi: str
    text_sv: str
    text_en: str


@dataclass(frozen=True)
class Withheld:
    """A resource that may not be shown at all; `labels` are the hidden ones it carries (if any)."""

    labels: frozenset[Label]


@dataclass(frozen=True)
class UnknownPatient:
    """The request's client could not be determined (e.g. a search with no patient); not None."""

    why: str


@dataclass(frozen=True)
class UnknownSector:
    """An activity's owning sector is missing, ambiguous or not one of ours; no writer owns it."""

    code: str = ""


@dataclass(frozen=True)
class AccessRequest:
    """The immutable facts a decider may use.

    `resource_type` is None only for system-level interactions (capabilities, batch,
    transaction). `patient` is "Patient/<id>" or `UnknownPatient`. For writes, the builder
    must fill `owning_sectors` with the owner of every plan activity the write adds, changes
    or removes, `changed_elements` with the top-level elements it changes other than
    `activity` (see `gateway.proxy.merge`), and `labels` with every label on the parts it
    touches, before and after. For reads `labels` may be empty: redactions do not depend on it.
    """

    client_id: str
    organization: str
    sector: Sector
    practitioner_role: str
    team_roles: tuple[str, ...]
    scopes: tuple[Scope, ...]
    purpose_of_use: PurposeOfUse
    btg_reason: str | None
    interaction: Interaction
    resource_type: str | None
    resource_id: str | None
    patient: str | UnknownPatient
    owning_sectors: tuple[Sector | UnknownSector, ...] = ()
    changed_elements: frozenset[str] = frozenset()
    labels: frozenset[Label] = frozenset()

    def __post_init__(self) -> None:
        if isinstance(self.patient, str) and not PATIENT_REFERENCE.fullmatch(self.patient):
            raise ValueError("patient must be 'Patient/<id>' or UnknownPatient")
        if (self.purpose_of_use is PurposeOfUse.BTG) != bool(self.btg_reason):
            raise ValueError("btg_reason is given exactly when purpose_of_use is BTG")

    @classmethod
    def of(
        cls,
        principal: Principal,
        interaction: Interaction,
        resource_type: str | None,
        *,
        patient: str | UnknownPatient,
        resource_id: str | None = None,
        owning_sectors: tuple[Sector | UnknownSector, ...] = (),
        changed_elements: frozenset[str] = frozenset(),
        labels: frozenset[Label] = frozenset(),
        personal_worker: bool = False,
    ) -> AccessRequest:
        """The request of `principal`, copying only the facts deciders may see.

        The role `personal-worker` is never taken from the token: it is a relation to one
        client, so the caller derives it from that client's active team (`personal_worker`).
        """
        roles = tuple(role for role in principal.team_roles if role != PERSONAL_WORKER)
        return cls(
            client_id=principal.client_id,
            organization=principal.organization,
            sector=principal.sector,
            practitioner_role=principal.practitioner_role,
            team_roles=roles + ((PERSONAL_WORKER,) if personal_worker else ()),
            scopes=principal.scopes,
            purpose_of_use=principal.purpose_of_use,
            btg_reason=principal.btg_reason or None,
            interaction=interaction,
            resource_type=resource_type,
            resource_id=resource_id,
            patient=patient,
            owning_sectors=owning_sectors,
            changed_elements=changed_elements,
            labels=labels,
        )


@dataclass(frozen=True)
class Redaction:
    """What to hide: any resource or plan activity carrying one of `hidden` is removed whole."""

    hidden: frozenset[Label] = frozenset()


@dataclass(frozen=True)
class AccessDecision:
    """A decider's answer with its reasons; build with `permit` or `deny`.

    `lifts` (labels made visible despite other decisions' redactions) is honoured only on a
    PERMIT resting on CONSENT. `requires` names bases that must also permit (see `combine`).
    """

    effect: Effect
    reasons: tuple[Reason, ...]
    redactions: Redaction = field(default_factory=Redaction)
    basis: frozenset[Basis] = frozenset()
    requires: frozenset[Basis] = frozenset()
    lifts: frozenset[Label] = frozenset()

    def __post_init__(self) -> None:
        if self.redactions.hidden & self.lifts:
            raise ValueError("a decision cannot both hide and lift the same label")

    @classmethod
    def permit(
        cls,
        basis: Basis,
        *reasons: Reason,
        hidden: frozenset[Label] = frozenset(),
        requires: frozenset[Basis] = frozenset(),
        lifts: frozenset[Label] = frozenset(),
    ) -> AccessDecision:
        """A PERMIT resting on `basis`, hiding `hidden`."""
        return cls(Effect.PERMIT, reasons, Redaction(hidden), frozenset({basis}), requires, lifts)

    @classmethod
    def deny(cls, *reasons: Reason) -> AccessDecision:
        """A DENY; give at least one reason, the caller shows them."""
        return cls(Effect.DENY, reasons)


class AccessChecker(Protocol):
    """A decider. `check` must be pure and must not raise; on any doubt it returns a DENY."""

    def check(self, request: AccessRequest) -> AccessDecision:
        """The decision for `request`."""
        ...


def combine(*decisions: AccessDecision) -> AccessDecision:
    """Deny-overrides combination; see the module docstring for the exact rules."""
    reasons = tuple(dict.fromkeys(reason for decision in decisions for reason in decision.reasons))
    hidden = frozenset().union(*(decision.redactions.hidden for decision in decisions))
    if any(decision.effect is Effect.DENY for decision in decisions):
        return AccessDecision(Effect.DENY, reasons, Redaction(hidden))
    permits = [decision for decision in decisions if decision.effect is Effect.PERMIT]
    if not permits:
        return AccessDecision(Effect.NOT_APPLICABLE, reasons, Redaction(hidden))
    basis = frozenset().union(*(decision.basis for decision in permits))
    if frozenset().union(*(decision.requires for decision in permits)) - basis:
        return AccessDecision(Effect.DENY, reasons, Redaction(hidden))
    lifts = frozenset().union(*(d.lifts for d in permits if Basis.CONSENT in d.basis))
    return AccessDecision(Effect.PERMIT, reasons, Redaction(hidden - lifts), basis, frozenset(), lifts)
