"""Access decisions for the resources of one request, each for its own client; pure.

A `Decider` is built only with the facts its decisions rest on already in hand: for every
client it may be asked about, a `ClientFacts` read from the store for this very request (by
`gateway.store.facts`, never from a cache) — the client's consents and, for writes, the
client's active care teams. So a decision cannot be asked for before its inputs were read:
`decide` on a resource of a client whose facts are not in hand, or a write decision without
the client's teams, raises `FactsMissing` (a fault of the caller, which must then deny).

`decide(resource, ...)` combines the role policy and that client's consent
(`gateway.access.seam.combine`); a resource of no client (directory data) is decided by role
alone; one whose client cannot be named (`UnknownPatient`) by role and an unreadable consent
(deny). The caller's `personal-worker` role is derived from the client's teams
(`gateway.access.careteam.is_personal_worker`), never taken from the token; reads do not
need it (no rule grants the personal worker more reading than its own role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auth.principal import Principal
from gateway.access.careteam import is_personal_worker
from gateway.access.consent.decider import ConsentPolicy, ConsentsRead, ConsentUnreadable
from gateway.access.labels import resource_labels
from gateway.access.policy import RolePolicy
from gateway.access.seam import (
    AccessDecision,
    AccessRequest,
    Effect,
    Reason,
    UnknownPatient,
    UnknownSector,
    Withheld,
    combine,
)
from gateway.access.subjects import NoClient, patient_of
from gateway.fhir.codes import Interaction, Sector
from gateway.fhir.labels import Label

__all__ = ["ClientFacts", "Decider", "FactsMissing", "Policies", "WriteEffect"]

_UNREADABLE = ConsentUnreadable("the resource names no client whose consent could be read")


@dataclass(frozen=True)
class Policies:
    """The deciders, built once at start-up: the role policy and the consent decider."""

    role: RolePolicy
    consent: ConsentPolicy


@dataclass(frozen=True)
class ClientFacts:
    """What one client's decisions rest on, read for this request.

    `teams` are the client's active CareTeams, or None when they were not read (a request that
    only reads does not need them).
    """

    consents: ConsentsRead
    teams: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True)
class WriteEffect:
    """A write as the deciders see it (`gateway.proxy.merge` describes it), and the resource to
    store (`None` for a delete)."""

    resource: dict[str, Any] | None
    owning_sectors: tuple[Sector | UnknownSector, ...]
    changed_elements: frozenset[str]
    labels: frozenset[Label]


class FactsMissing(LookupError):
    """A decision was asked for without the facts it rests on: a fault of the caller."""


class Decider:
    """Decisions for one request of `principal` (interaction `interaction`), about the clients in `facts`."""

    def __init__(
        self,
        principal: Principal,
        policies: Policies,
        facts: Mapping[str, ClientFacts],
        interaction: Interaction,
    ) -> None:
        self._principal = principal
        self._policies = policies
        self._facts = dict(facts)
        self._interaction = interaction
        self._reasons: dict[Reason, None] = {}

    def decide(
        self,
        resource: Mapping[str, Any],
        interaction: Interaction | None = None,
        write: WriteEffect | None = None,
    ) -> AccessDecision:
        """Role policy and the client's consent for `interaction` (default: the request's) on
        `resource`, combined; `write` describes a write. Raises `FactsMissing`; see the module doc."""
        interaction = interaction or self._interaction
        patient = patient_of(resource)
        facts = self._facts_of(patient, needs_teams=interaction.is_write)
        rtype = resource.get("resourceType")
        request = AccessRequest.of(
            self._principal,
            interaction,
            rtype if isinstance(rtype, str) else None,
            patient=patient if isinstance(patient, (str, UnknownPatient)) else UnknownPatient("no client"),
            resource_id=resource.get("id") if isinstance(resource.get("id"), str) else None,
            owning_sectors=write.owning_sectors if write else (),
            changed_elements=write.changed_elements if write else frozenset(),
            labels=write.labels if write else resource_labels(resource),
            personal_worker=facts is not None
            and facts.teams is not None
            and is_personal_worker(self._principal.practitioner_role, facts.teams),
        )
        role = self._policies.role.check(request)
        if isinstance(patient, NoClient):
            decision = combine(role)
        else:
            consents = facts.consents if facts is not None else _UNREADABLE
            decision = combine(role, self._policies.consent.check(request, consents))
        self._reasons.update(dict.fromkeys(decision.reasons))
        return decision

    def hidden_for(self, resource: Mapping[str, Any]) -> frozenset[Label] | Withheld:
        """The labels hidden from the caller in `resource`, or `Withheld` (not permitted)."""
        decision = self.decide(resource)
        return decision.redactions.hidden if decision.effect is Effect.PERMIT else Withheld(frozenset())

    def teams(self, patient: str) -> tuple[Mapping[str, Any], ...]:
        """The active CareTeams of `patient`, as read for this request; `FactsMissing` if not read."""
        facts = self._facts_of(patient, needs_teams=True)
        assert facts is not None and facts.teams is not None
        return facts.teams

    def reasons(self) -> tuple[Reason, ...]:
        """Every reason of every decision so far, first occurrence kept."""
        return tuple(self._reasons)

    def _facts_of(self, patient: str | UnknownPatient | NoClient, *, needs_teams: bool) -> ClientFacts | None:
        if not isinstance(patient, str):
            return None
        facts = self._facts.get(patient)
        if facts is None:
            raise FactsMissing(f"the facts of {patient} were not read for this request")
        if needs_teams and facts.teams is None:
            raise FactsMissing(f"a write about {patient} is decided without the client's teams")
        return facts
