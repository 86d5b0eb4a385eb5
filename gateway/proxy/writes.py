"""The write path: a create, update, JSON Patch or delete, decided and merged before it is sent.

`prepare_write(call, given, context, upstream, local)` turns one write into a `PreparedWrite` —
what to send to the store — or raises a `gateway.errors` error, having written nothing:

- every reference the written resource carries is literal and, where the caller adds it, names
  a resource the caller may see (`gateway.proxy.references`; `local` are the urn:uuid fullUrls
  a transaction's creates may be referenced by): the store never resolves a search for it.
- create: the body is decided as a whole (`gateway.proxy.merge.describe_create`) for its client.
- update, patch, delete: the current version is read from the store (404 if there is none:
  an update never creates; one the caller may not read — refused by its consent or role,
  or carrying a label hidden from it — answers the same 404, `Unseen`: nobody writes what it
  may not read, and a refusal is no oracle). The caller must have named the current version
  in If-Match (412 otherwise): for a plan or a team the version it sees, the content name of
  its view (`gateway.proxy.history`), so an edit since to parts hidden from it does not
  make its version stale, while one to what it sees does. A patch applies to the resource
  *as the caller sees it* (redacted, with the version it sees), so its paths mean what the
  caller read. The result is merged with the parts of the current version hidden from the
  caller (`gateway.proxy.merge.merge_update`), so a caller who cannot see a PSY activity can
  never erase or alter it, and the merged write is decided: owning
  sectors of the activities it touches, elements it changes, labels it touches, and the
  client's consent, with the client's teams read (the personal worker is derived from them).
  A write may not move a resource to another client.
- a CareTeam keeps the personal-worker rules (`gateway.access.careteam`): 422 for a handover that
  loses history, 409 if the client would get a second personal worker.

`serve_write` records the decided write in the audit trail (`RequestContext.intend`) before
it is sent, so the store never holds a change the trail does not know of.

`send_write(upstream, prepared)` sends it with If-Match set to the version decided on, so a
write that raced with another since the read fails (the store's 409 becomes 412) instead of
overwriting it: no lost update. The store's answer is redacted for the caller before it
leaves (it holds the merged hidden parts). The store validates the result against our
profiles; its refusal (4xx; a profile failure as 422, see `store_refusal`) is passed on,
sanitized, and nothing is stored. The answer names the version the caller sees
(`gateway.proxy.history.as_seen`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonpatch

from gateway.access.careteam import competing_teams, handover_problems
from gateway.access.decider import Decider, WriteEffect
from gateway.access.seam import AccessDecision, Effect, Withheld
from gateway.access.subjects import patient_of
from gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    Unseen,
    UpstreamFailure,
    unknown,
)
from gateway.fhir.codes import Interaction
from gateway.fhir.labels import Label
from gateway.fhir.media import FHIR_JSON
from gateway.proxy.call import FhirCall
from gateway.proxy.context import RequestContext
from gateway.proxy.history import as_seen, seen_headers
from gateway.proxy.merge import describe_create, describe_delete, merge_update
from gateway.proxy.reads import passthrough
from gateway.proxy.redaction import redact
from gateway.proxy.references import check_form, check_member_owners, check_visible, references_of
from gateway.proxy.urls import PublicUrls
from gateway.proxy.versions import NAMED_TYPES, content_name
from gateway.served import Served
from gateway.store.client import Upstream, UpstreamResponse

__all__ = [
    "PreparedWrite",
    "WriteInput",
    "prepare_write",
    "send_write",
    "serve_write",
    "store_refusal",
]

_UNKNOWN = "{path}; a write never creates by id (create with POST)"


@dataclass(frozen=True)
class WriteInput:
    """A write as received: the resource (create, update) or JSON Patch, and If-Match's version."""

    resource: dict[str, Any] | None = None
    patch: jsonpatch.JsonPatch | None = None
    if_match: str | None = None


@dataclass(frozen=True)
class PreparedWrite:
    """A decided write: `method` on store `path` with `resource`, guarded by `version`.

    `hidden` are the labels hidden from the caller in this client's data: the store's answer
    is redacted with them.
    """

    method: str
    path: str
    resource: dict[str, Any] | None
    version: str | None
    hidden: frozenset[Label]

    def describe(self) -> str:
        """The write as the audit names it: "PUT CarePlan/p1 (version 3)", "POST Goal"."""
        return f"{self.method} {self.path}" + (f" (version {self.version})" if self.version else "")


async def prepare_write(
    call: FhirCall,
    given: WriteInput,
    context: RequestContext,
    upstream: Upstream,
    local: frozenset[str] = frozenset(),
) -> PreparedWrite:
    """Decide and merge one write; see the module doc."""
    assert call.resource_type is not None
    if call.interaction is Interaction.CREATE:
        assert given.resource is not None
        return await _prepare_create(call.resource_type, given.resource, context, upstream, local)
    assert call.resource_id is not None and given.if_match is not None
    path = f"{call.resource_type}/{call.resource_id}"
    current, version = await _current(upstream, path)
    patient = patient_of(current)
    decider = await context.decider([current], call.interaction, teams=True)
    view = decider.decide(current, Interaction.READ)
    if view.effect is not Effect.PERMIT:
        raise Unseen(_UNKNOWN.format(path=unknown(path)), view.reasons)
    shown = redact(current, view.redactions.hidden)
    if isinstance(shown, Withheld):
        raise Unseen(_UNKNOWN.format(path=unknown(path)), view.reasons)
    shown_version = content_name(shown) if call.resource_type in NAMED_TYPES else version
    if given.if_match != shown_version:
        raise PreconditionFailed(
            f"the resource has changed since you read it (you named version {given.if_match}, "
            f"the current one is {shown_version}); read it again and reapply your change"
        )
    added: dict[str, str] = {}
    if call.interaction is Interaction.DELETE:
        effect = describe_delete(current)
    else:
        if given.resource is not None:
            proposed = given.resource
        else:  # the patch applies to what the caller reads, its version included (a `test` on it)
            proposed = _patched(
                given.patch, await as_seen(context, upstream, current, shown, view.redactions.hidden), path
            )
        seen = {reference for _, reference in references_of(shown)}
        added = {ref: where for ref, where in check_form(proposed, local).items() if ref not in seen}
        if patient_of(proposed) != patient:
            raise BadRequest("a write cannot move a resource to another client")
        effect = merge_update(current, proposed, view.redactions.hidden)
    _permitted(decider, current, call.interaction, effect)
    if effect.resource is not None:
        await check_visible(context, upstream, effect.resource, added)
    if effect.resource is not None and call.resource_type == "CareTeam":
        await check_member_owners(upstream, current, effect.resource)
        problems = handover_problems(current, effect.resource)
        if problems:
            raise Unprocessable("the team change breaks the personal-worker rules: " + "; ".join(problems))
        _one_personal_worker(decider, effect.resource)
    method = "DELETE" if effect.resource is None else "PUT"
    return PreparedWrite(method, path, effect.resource, version, view.redactions.hidden)


async def send_write(upstream: Upstream, prepared: PreparedWrite) -> UpstreamResponse:
    """Send `prepared` to the store; a lost race is `PreconditionFailed`, a 5xx `UpstreamFailure`."""
    headers = {"Accept": FHIR_JSON, "Prefer": "return=representation"}
    content = None
    if prepared.resource is not None:
        headers["Content-Type"] = FHIR_JSON
        content = json.dumps(prepared.resource, ensure_ascii=False).encode("utf-8")
    if prepared.version is not None and prepared.method == "PUT":
        headers["If-Match"] = f'W/"{prepared.version}"'
    answer = await upstream.send(prepared.method, prepared.path, headers=headers, content=content)
    if answer.status == 409 and "If-Match" in headers:
        raise PreconditionFailed(
            "the resource was changed by someone else while your write was processed; read it again"
        )
    return store_refusal(answer)


def store_refusal(answer: UpstreamResponse) -> UpstreamResponse:
    """The store's answer to a write, its 412 made 422.

    HAPI answers 412 when a repository rule (our profiles) refuses the resource; to a client of
    the gateway 412 means a stale If-Match, so the refusal is passed on as 422, as FHIR answers
    a resource that fails validation.
    """
    if answer.status == 412:
        return UpstreamResponse(422, answer.headers, answer.body)
    return answer


async def _redacted_answer(
    context: RequestContext, store: Upstream, answer: UpstreamResponse, prepared: PreparedWrite
) -> dict[str, Any] | None:
    """The store's answer to a successful write as the caller may see it, with the version it
    sees (None: no resource)."""
    body = answer.json() if answer.body else None
    if not isinstance(body, dict) or body.get("resourceType") == "OperationOutcome":
        return None
    shown = redact(body, prepared.hidden)
    return None if isinstance(shown, Withheld) else await as_seen(context, store, body, shown, prepared.hidden)


async def _prepare_create(
    resource_type: str, resource: dict[str, Any], context: RequestContext, upstream: Upstream, local: frozenset[str]
) -> PreparedWrite:
    references = check_form(resource, local)
    decider = await context.decider([resource], Interaction.CREATE, teams=True)
    effect = describe_create(resource)
    decision = _permitted(decider, resource, Interaction.CREATE, effect)
    await check_visible(context, upstream, resource, references)
    if resource_type == "CareTeam":
        await check_member_owners(upstream, None, resource)
        _one_personal_worker(decider, resource)
    return PreparedWrite("POST", resource_type, effect.resource, None, decision.redactions.hidden)


def _permitted(
    decider: Decider, resource: dict[str, Any], interaction: Interaction, effect: WriteEffect
) -> AccessDecision:
    decision = decider.decide(resource, interaction, effect)
    if decision.effect is not Effect.PERMIT:
        raise Forbidden("access denied", decision.reasons)
    return decision


def _one_personal_worker(decider: Decider, team: dict[str, Any]) -> None:
    patient = patient_of(team)
    others = competing_teams(team, decider.teams(patient)) if isinstance(patient, str) else []
    if others:
        raise Conflict(
            "the client already has an active team with a personal worker (CareTeam/"
            + ", CareTeam/".join(others)
            + "); close it or hand over within it, so the client keeps one personal worker"
        )


async def _current(upstream: Upstream, path: str) -> tuple[dict[str, Any], str]:
    """The current version of `path` on the store and its version id; `NotFound` if none."""
    answer = await upstream.send("GET", path, headers={"Accept": FHIR_JSON, "Cache-Control": "no-cache"})
    if answer.status in (404, 410):
        raise NotFound(_UNKNOWN.format(path=unknown(path)))
    if answer.status != 200:
        raise UpstreamFailure(f"the FHIR store answered {answer.status} when {path} was read")
    body = answer.json()
    meta = body.get("meta") if isinstance(body, dict) else None
    version = meta.get("versionId") if isinstance(meta, dict) else None
    if not isinstance(body, dict) or not isinstance(version, str):
        raise UpstreamFailure(f"the FHIR store answered {path} without a version")
    return body, version


def _patched(patch: jsonpatch.JsonPatch | None, shown: dict[str, Any], path: str) -> dict[str, Any]:
    """`shown` with `patch` applied; the patch may not change the resource type or id."""
    assert patch is not None
    try:
        result = patch.apply(shown)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise Unprocessable(f"the JSON Patch cannot be applied to {path} as you see it: {exc}") from None
    if (
        not isinstance(result, dict)
        or result.get("resourceType") != shown.get("resourceType")
        or result.get("id") != shown.get("id")
    ):
        raise Unprocessable("a JSON Patch may not change the resource type or id")
    return result


async def serve_write(
    context: RequestContext, store: Upstream, urls: PublicUrls, call: FhirCall, given: WriteInput
) -> Served:
    """One write of `context`'s caller, decided, merged, sent and answered as the caller may see it."""
    prepared = await prepare_write(call, given, context, store)
    await context.intend(prepared.describe())
    answer = await send_write(store, prepared)
    if answer.status >= 400:
        return passthrough(answer, context.patients())
    shown = await _redacted_answer(context, store, answer, prepared)
    headers = seen_headers(urls.headers(answer), call.resource_type, shown)
    return Served(answer.status, shown, headers, context.patients(), Effect.PERMIT, context.reasons())
