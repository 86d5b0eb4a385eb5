"""The read path: read, vread, search, instance history and follow-up pages.

`serve_read(context, store, urls, call)` forwards one read to the store and answers what the
caller may see of the result:
- a resource: decided for its client (role policy and consent); one the caller may not see
  at all — refused by the consent, by the role for that resource, or carrying a label hidden
  from it — is answered exactly as an id that does not exist (404, the same OperationOutcome
  and headers; the reasons go to the audit only), so a refusal is no oracle; labelled parts
  the caller may not see are removed (`gateway.proxy.redaction`);
- a Bundle (search, history, a follow-up page): every entry decided for its own client and
  redacted, withheld entries leaving no trace; links and fullUrls made the gateway's.
A store answer other than 200 is passed on as a sanitised OperationOutcome.
"""

from __future__ import annotations

from gateway.access.seam import Effect, Withheld
from gateway.errors import NotFound, Unseen, UpstreamFailure, unknown
from gateway.fhir.codes import Interaction
from gateway.fhir.media import FHIR_JSON
from gateway.proxy.call import FhirCall
from gateway.proxy.context import RequestContext
from gateway.proxy.redaction import redact, redact_bundle
from gateway.proxy.urls import PublicUrls
from gateway.served import Served
from gateway.store.client import Upstream, UpstreamResponse, sanitize_outcome

__all__ = ["passthrough", "serve_read"]


async def serve_read(context: RequestContext, store: Upstream, urls: PublicUrls, call: FhirCall) -> Served:
    """One read of `context`'s caller; see the module doc."""
    path = _store_path(call)
    answer = await store.send("GET", path, params=call.params, headers={"Accept": FHIR_JSON})
    if answer.status in (404, 410) and call.resource_id is not None:
        raise NotFound(unknown(path))  # the gateway's own words: the same as for a hidden one
    if answer.status != 200:
        return passthrough(answer)
    body = answer.json()
    if not isinstance(body, dict):
        raise UpstreamFailure("the FHIR store answered with something that is not a resource")
    if body.get("resourceType") == "Bundle":
        entries = [e.get("resource") for e in body.get("entry", []) if isinstance(e, dict)]
        decider = await context.decider([r for r in entries if isinstance(r, dict)], call.interaction)
        shown = urls.bundle(redact_bundle(body, decider.hidden_for))
        return Served(200, shown, urls.headers(answer), context.patients(), Effect.PERMIT, context.reasons())
    decider = await context.decider([body], call.interaction)
    decision = decider.decide(body)
    if decision.effect is not Effect.PERMIT:
        raise Unseen(unknown(path), decision.reasons)
    redacted = redact(body, decision.redactions.hidden)
    if isinstance(redacted, Withheld):
        raise Unseen(unknown(path), decision.reasons)
    return Served(200, redacted, urls.headers(answer), context.patients(), Effect.PERMIT, decision.reasons)


def passthrough(answer: UpstreamResponse, patients: tuple[str, ...] = ()) -> Served:
    """A 4xx of the store, passed on as a sanitized OperationOutcome."""
    try:
        body = answer.json()
    except UpstreamFailure:
        body = {}
    return Served(answer.status, sanitize_outcome(body if isinstance(body, dict) else {}), {}, patients)


def _store_path(call: FhirCall) -> str:
    path = "/".join(p for p in (call.resource_type, call.resource_id) if p)
    if call.version_id:
        return f"{path}/_history/{call.version_id}"
    if call.interaction is Interaction.HISTORY:
        return f"{path}/_history"
    return path
