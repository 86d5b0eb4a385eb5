"""What the audit keeps of one request: who asked, for what, what was decided and why."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from auth.principal import CitizenPrincipal, Principal
from gateway.access.seam import Effect, Reason

__all__ = ["Anonymous", "AuditOutcome", "AuditRecord", "Caller", "Disclosed", "DocumentDisclosure", "request_id_of"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_of(header: str | None) -> str:
    """The caller's X-Request-Id if it is a plain token of at most 128 characters, else a new UUID."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return str(uuid.uuid4())


class AuditOutcome(StrEnum):
    """How the request ended for the caller."""

    SUCCESS = "success"  # answered 2xx/3xx, possibly with parts redacted
    DENIED = "denied"  # refused by authentication or an access decision
    FAILED = "failed"  # bad input, upstream or gateway failure
    INTENDED = "intended"  # a decided write, recorded before it is sent to the store (no outcome yet)


PATIENT_REQUESTED = "PATRQT"
"""v3-ActReason: the purpose of a citizen's own requests."""


@dataclass(frozen=True)
class Caller:
    """The authenticated system and professional, as the token said; or a citizen (`of`)."""

    client_id: str
    organization: str
    sector: str
    practitioner_role: str
    purpose_of_use: str
    token_jti: str
    btg_reason: str = ""
    team_roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, principal: Principal | CitizenPrincipal) -> Caller:
        """The caller of `principal`: a citizen has no organisation and no sector, and acts as
        `person` (in `practitioner_role`) for the purpose "patient requested" (PATRQT)."""
        if isinstance(principal, CitizenPrincipal):
            return cls(
                client_id=principal.client_id,
                organization="",
                sector="",
                practitioner_role=principal.person,
                purpose_of_use=PATIENT_REQUESTED,
                token_jti=principal.jti,
                team_roles=(principal.role,),
            )
        return cls(
            client_id=principal.client_id,
            organization=principal.organization,
            sector=str(principal.sector),
            practitioner_role=principal.practitioner_role,
            purpose_of_use=str(principal.purpose_of_use),
            token_jti=principal.jti,
            btg_reason=principal.btg_reason,
            team_roles=principal.team_roles,
        )


@dataclass(frozen=True)
class Anonymous:
    """No valid token: the request is recorded all the same, with why authentication failed."""

    reason: str


@dataclass(frozen=True)
class Disclosed:
    """A resource the response carried: its versioned reference and its client (None: no client)."""

    reference: str
    patient: str | None


@dataclass(frozen=True)
class DocumentDisclosure:
    """A signed plan document issued to another party: to whom, why, which document, and what it holds.

    `recipient` is the Organization ("Organization/<id>") with its SOTE OID and sector;
    `purpose` the v3-ActReason code; `document` the document's Bundle.identifier, `version` its
    version; `contents` the versioned references of what it holds; `social_welfare` whether it
    holds social welfare information (SOC) and goes to an organisation other than the issuer's:
    the social welfare register then keeps a disclosure notice of it (luovutusilmoitus).
    """

    recipient: str
    recipient_oid: str
    recipient_sector: str
    purpose: str
    document: str
    version: int
    patient: str
    contents: tuple[str, ...]
    social_welfare: bool


@dataclass(frozen=True)
class AuditRecord:
    """One request through the gateway.

    `patients` are the clients ("Patient/<id>") whose data the request touched or asked for;
    `effect` and `reasons` are the access decision's (`Effect.DENY` with the authentication
    failure when there was no decision to make); `query` is the raw query string;
    `resource_id` the id the URL names; `disclosed` every resource the response carried (after
    redaction); `source_address` the caller's network address. A record of outcome `INTENDED`
    holds in `intended` the writes about to be sent to the store ("PUT CarePlan/p1", ...), and
    status 0: the record with the same `request_id` and another outcome completes it.
    `disclosure` is the document a successful request issued to another party, if any.
    """

    request_id: str
    recorded_at: datetime
    caller: Caller | Anonymous
    method: str
    path: str
    query: str
    interaction: str
    resource_type: str | None
    patients: tuple[str, ...]
    effect: Effect
    reasons: tuple[Reason, ...]
    status: int
    outcome: AuditOutcome
    resource_id: str | None = None
    disclosed: tuple[Disclosed, ...] = ()
    source_address: str | None = None
    intended: tuple[str, ...] = ()
    disclosure: DocumentDisclosure | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601, reasons with their rule URIs)."""
        caller: dict[str, Any]
        if isinstance(self.caller, Caller):
            caller = {"kind": "authenticated", **self.caller.__dict__}
        else:
            caller = {"kind": "anonymous", "reason": self.caller.reason}
        return {
            "request_id": self.request_id,
            "recorded_at": self.recorded_at.isoformat(),
            "caller": caller,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "interaction": self.interaction,
            "resource_type": self.resource_type,
            "patients": list(self.patients),
            "effect": str(self.effect),
            "reasons": [{"code": r.code, "rule": r.rule} for r in self.reasons],
            "status": self.status,
            "outcome": str(self.outcome),
            "resource_id": self.resource_id,
            "disclosed": [{"reference": d.reference, "patient": d.patient} for d in self.disclosed],
            "source_address": self.source_address,
            "intended": list(self.intended),
            "disclosure": None
            if self.disclosure is None
            else {**self.disclosure.__dict__, "contents": list(self.disclosure.contents)},
        }
