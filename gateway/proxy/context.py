"""One FHIR request's access: the caller, the facts read for it, and every decision made.

`RequestContext` is made once per request (a batch or transaction included) and handed to the
reads, writes and bundles of the FHIR path:
- `pre_check(call)`: the type and interaction decided by role before anything is read (the
  caller taken to be the client's personal worker, the most it could be: if even that is
  refused, nothing is read);
- `await decider(resources, interaction, teams=...)`: a `Decider` with the facts of the
  clients of `resources` in hand, each client's read once for the whole request
  (`gateway.store.facts.FactsReader`), and noted in the request's `Attempt` as touched;
- `await facts(resources)`: those facts themselves (teams included), for a decision made for
  someone else than the caller (a document's recipient, `gateway.proxy.recipient`);
- `disclose(disclosure)`: a document issued to another party, for the audit record;
- `await intend(*writes)`: the writes about to be sent to the store, recorded in the audit
  trail first (`gateway.served.Attempt.intend`); if that fails, nothing may be sent;
- `patients()` and `reasons()`: what the audit record of the request carries;
- `binding()`: what the request's follow-up page links are bound to (`gateway.proxy.cursor`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auth.principal import Principal
from gateway.access.decider import ClientFacts, Decider, Policies
from gateway.access.seam import AccessRequest, Effect, Reason, UnknownPatient
from gateway.audit.record import DocumentDisclosure
from gateway.errors import Forbidden
from gateway.fhir.codes import Interaction
from gateway.proxy.call import FhirCall
from gateway.served import Attempt
from gateway.store.client import Upstream
from gateway.store.facts import FactsReader

__all__ = ["RequestContext"]


class RequestContext:
    """The access side of one request of `principal`; see the module doc."""

    def __init__(self, principal: Principal, policies: Policies, store: Upstream, attempt: Attempt) -> None:
        self._principal = principal
        self._policies = policies
        self._facts = FactsReader(store)
        self._attempt = attempt
        self._deciders: list[Decider] = []

    @property
    def principal(self) -> Principal:
        """The authenticated caller."""
        return self._principal

    def pre_check(self, call: FhirCall) -> None:
        """Refuse (`Forbidden`) a call the caller's role could not make on any client (a
        system-level call only if it is an operation: the others are decided per entry)."""
        if call.resource_type is None and call.interaction is not Interaction.OPERATION:
            return
        unknown = UnknownPatient("not read yet")
        request = AccessRequest.of(
            self._principal, call.interaction, call.resource_type, patient=unknown, personal_worker=True
        )
        first = self._policies.role.check(request)
        if first.effect is not Effect.PERMIT:
            raise Forbidden("access denied", first.reasons)

    async def decider(
        self, resources: Sequence[Mapping[str, Any]], interaction: Interaction, *, teams: bool = False
    ) -> Decider:
        """A decider for `resources` (with their clients' teams, if `teams`: writes need them)."""
        facts = await self._facts.read(resources, teams=teams)
        self._attempt.touch(*facts)
        decider = Decider(self._principal, self._policies, facts, interaction)
        self._deciders.append(decider)
        return decider

    async def facts(self, resources: Sequence[Mapping[str, Any]]) -> Mapping[str, ClientFacts]:
        """The facts (consents and teams) of the clients of `resources`, as this request read them."""
        facts = await self._facts.read(resources, teams=True)
        self._attempt.touch(*facts)
        return facts

    def disclose(self, disclosure: DocumentDisclosure) -> None:
        """Note a document issued to another party: the audit records it if the request succeeds."""
        self._attempt.disclosure = disclosure

    async def intend(self, *writes: str) -> None:
        """Record `writes` ("PUT CarePlan/p1", ...) before they are sent; raises if it cannot."""
        await self._attempt.intend(writes, self.reasons())

    def patients(self) -> tuple[str, ...]:
        """The clients whose data the request touched (their facts were read)."""
        return self._facts.clients()

    def binding(self) -> bytes:
        """The client system and the acting professional: a page link opens only for them."""
        return f"{self._principal.client_id}\n{self._principal.practitioner_role}".encode()

    def reasons(self) -> tuple[Reason, ...]:
        """Every reason of every decision of the request, first occurrence kept."""
        return tuple(dict.fromkeys(reason for decider in self._deciders for reason in decider.reasons()))
