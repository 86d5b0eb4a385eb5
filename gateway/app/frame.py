"""The one audited frame every endpoint of the gateway runs in.

`AuditedFrame(verifier, audit)(request, serve, attempt)` does, in this order and for every
endpoint alike (the FHIR path, the audit API, and whatever comes):

1. authenticate the bearer token into a `Principal` (unless the endpoint is `public`, as
   /metadata and the authorization server's endpoints are; a page's `audience` lets a
   logged-in browser in: `gateway.app.bearer`): no token or a bad one is a 401,
   recorded with why (a public endpoint may say why in `attempt.anonymous`: the token
   endpoint names the client it refused);
2. `serve(attempt)`: the endpoint's own work, which notes in `attempt` what it learns (the
   interaction, the resource, the clients it touches) and, before it sends a write to the
   store, records the intended write through `attempt.intend` (a record of outcome
   `INTENDED`, committed before anything is sent: a write the store holds always has its
   record, even if the gateway dies before it answers); it returns an `Answer`; a
   `GatewayError` becomes its OperationOutcome, any other exception a 500 with a fixed text
   (`errors.Unexpected`; the cause is logged);
3. classify the outcome (`outcome_of`, the only place that does);
4. record the request in the audit trail, and only then answer. If the trail cannot take the
   record, the answer is 503 and nothing of what was served leaves (fail closed).

The caller's duty: route every request through here, and note in `attempt` every client
whose data the request touches or names before anything can fail, so that a refusal is
recorded with its client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from auth.clock import Clock, system_clock
from auth.principal import CitizenPrincipal, TokenVerifier
from gateway.access.seam import Effect, Reason
from gateway.app.bearer import Audience, authenticate
from gateway.app.forwarded import Networks, source_address
from gateway.audit.record import (
    Anonymous,
    AuditOutcome,
    AuditRecord,
    Caller,
    Disclosed,
    DocumentDisclosure,
    request_id_of,
)
from gateway.audit.sink import AuditSink
from gateway.errors import AuditUnavailable, GatewayError, Unauthenticated, Unexpected
from gateway.login.sessions import SessionDoor
from gateway.outcomes import error_response
from gateway.served import Answer, Attempt, Served

__all__ = ["AuditedFrame", "Serve", "outcome_of"]

_log = logging.getLogger("gateway.app.frame")


Serve = Callable[[Attempt], Awaitable[Answer]]
"""An endpoint's work inside the frame."""


def outcome_of(answer: Answer) -> AuditOutcome:
    """Denied: no or bad token, or refused by a decision (also when answered 404); else by status."""
    if answer.status < 400:
        return AuditOutcome.SUCCESS
    if answer.status in (401, 403) or (answer.effect is Effect.DENY and answer.reasons):
        return AuditOutcome.DENIED
    return AuditOutcome.FAILED


@dataclass(frozen=True)
class AuditedFrame:
    """The frame: `verifier` authenticates, `audit` records; see the module doc.

    The recorded source address is the direct peer's, or the client a peer among
    `trusted_proxies` names in X-Forwarded-For (`gateway.app.forwarded`)."""

    verifier: TokenVerifier
    audit: AuditSink
    clock: Clock = system_clock
    trusted_proxies: Networks = ()
    sessions: SessionDoor | None = None

    async def __call__(
        self,
        request: Request,
        serve: Serve,
        attempt: Attempt,
        *,
        public: bool = False,
        audience: Audience = Audience.API,
    ) -> Response:
        """Serve `request` with `serve` and audit it; see the module doc."""
        request_id = request_id_of(request.headers.get("x-request-id"))
        caller: Caller | Anonymous = Anonymous("a public endpoint, no token asked for" if public else "no bearer token")
        answer: Answer
        try:
            if not public:
                principal = authenticate(self.verifier, request, self.sessions, audience)
                if isinstance(principal, CitizenPrincipal):
                    attempt.citizen = principal
                else:
                    attempt.principal = principal
                caller = Caller.of(principal)
                attempt.recorder = partial(self._intend, request, request_id, caller)
            answer = await serve(attempt)
        except GatewayError as error:
            answer = Served.failed(error, attempt.patients)
            if isinstance(error, Unauthenticated):
                caller = Anonymous(error.message)
        except Exception:
            _log.exception("request %s failed", request_id)
            answer = Served.failed(Unexpected(), attempt.patients)
        if public and attempt.anonymous:
            caller = Anonymous(attempt.anonymous)
        elif public and (who := attempt.principal or attempt.citizen) is not None:  # a login: with whom it made
            caller = Caller.of(who)
        record = self._record(
            request,
            request_id,
            caller,
            attempt,
            patients=answer.patients,
            effect=answer.effect,
            reasons=answer.reasons,
            status=answer.status,
            outcome=outcome_of(answer),
            disclosed=answer.disclosed(),
            disclosure=attempt.disclosure if answer.status < 400 else None,
        )
        try:
            await self.audit.record(record)
        except AuditUnavailable as error:
            return error_response(error)
        response = answer.as_response()
        response.headers["X-Request-Id"] = request_id
        return response

    async def _intend(
        self,
        request: Request,
        request_id: str,
        caller: Caller,
        attempt: Attempt,
        writes: tuple[str, ...],
        reasons: tuple[Reason, ...],
    ) -> None:
        """Record the writes `attempt` is about to send (the `Attempt.intend` of this request)."""
        intent = self._record(
            request,
            request_id,
            caller,
            attempt,
            patients=attempt.patients,
            effect=Effect.PERMIT,
            reasons=reasons,
            status=0,
            outcome=AuditOutcome.INTENDED,
            intended=writes,
        )
        await self.audit.record(intent)

    def _record(
        self,
        request: Request,
        request_id: str,
        caller: Caller | Anonymous,
        attempt: Attempt,
        *,
        patients: tuple[str, ...],
        effect: Effect,
        reasons: tuple[Reason, ...],
        status: int,
        outcome: AuditOutcome,
        disclosed: tuple[Disclosed, ...] = (),
        intended: tuple[str, ...] = (),
        disclosure: DocumentDisclosure | None = None,
    ) -> AuditRecord:
        """The audit record of `request` as `attempt` knows it, with how it ended (or is meant to)."""
        return AuditRecord(
            request_id=request_id,
            recorded_at=datetime.fromtimestamp(self.clock(), UTC),
            caller=caller,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            interaction=attempt.interaction,
            resource_type=attempt.resource_type,
            resource_id=attempt.resource_id,
            source_address=source_address(
                request.client.host if request.client else None,
                ", ".join(request.headers.getlist("x-forwarded-for")),
                self.trusted_proxies,
            ),
            patients=patients,
            effect=effect,
            reasons=reasons,
            status=status,
            outcome=outcome,
            disclosed=disclosed,
            intended=intended,
            disclosure=disclosure,
        )
