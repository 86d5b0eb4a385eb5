"""Signed plan documents through the gateway: issue one for a recipient, verify one, receive one.

`PlanDocuments.serve(context, call, body)` serves the three document operations (POST only):

- `CarePlan/<id>/$document` — Parameters `recipient` (valueReference to an Organization),
  `purpose` (valueCode TREAT or CAREMGT) and `language` (valueCode fi or sv; fi if absent).
  Only the client's personal worker may issue (rule `personal-worker-exchanges-plan-documents`;
  a caller who may not read the plan gets the plan's 404). Everything the plan reaches is read
  from the store (the plan, its goals, needs, team, the professionals and organisations, and
  the issuer's Organization); the recipient's view of it is decided as the recipient would be
  decided (`gateway.proxy.recipient`: its sector's reading roles and the client's consents),
  so redaction happens before anything is composed, and the document holds nothing the
  recipient may not see, nor a word of it. A recipient that may not see the plan, or the
  client herself, gets no document (403, saying which). The document
  (`gateway.documents.compose`, with a summary of the consents in force) is checked
  (`document_problems`), signed with the issuer's current key (`gateway.signing`), and stored
  in one transaction with its DocumentReference (recipient, purpose, version, the SHA-1 of
  the signed canonical form, the plan); the previous current version for the same recipient
  becomes superseded and is replaced (`relatesTo`, and the Composition's `relatesTo`), so the
  chain can be walked. HAPI validates both against our profiles. The answer is the signed
  Bundle; the audit records the disclosure (`DocumentDisclosure`).
- `$verify-document` (system level) — the body is a document Bundle: its signature against
  the trust store and its structure. 200 with an information OperationOutcome naming the
  signer, or 422 naming every failure. Reads and stores nothing.
- `CarePlan/<id>/$receive-document` — the body is another organisation's signed document
  about the plan's client: verified as above, then stored with a DocumentReference linked to
  the plan (our profiles checked by HAPI); a document that fails any check is refused (422,
  with the reasons) and nothing is stored. The document's client is matched by henkilötunnus.

Stored documents are immutable: the gateway serves no write of Bundle or DocumentReference.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.access.consent.decider import ConsentsOnFile
from gateway.access.decider import Policies
from gateway.access.labels import part_labels, resource_labels
from gateway.access.seam import Effect
from gateway.audit.record import DocumentDisclosure
from gateway.documents.compose import PLAN_OF_CARE, DocumentRequest, compose, consent_lines, left_out
from gateway.documents.structure import closure, document_problems, references_of, relative_reference
from gateway.documents.verify import check_document
from gateway.errors import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Unexpected,
    Unprocessable,
    Unseen,
    UpstreamFailure,
    UpstreamUnavailable,
    unknown,
)
from gateway.fhir.codes import Interaction, PurposeOfUse, Sector
from gateway.fhir.labels import LABELLED_PARTS, SOC, Label
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.resources import PROFILES
from gateway.fhir.systems import (
    ACT_REASON_SYSTEM,
    COMPOSITION_VERSION,
    DOCUMENT_PURPOSE,
    DOCUMENT_RECIPIENT,
    DOCUMENT_REFERENCE_PROFILE,
    DOCUMENT_VERSION,
    HETU_SYSTEM,
    SECTOR_SYSTEM,
    SOTE_ORGANIZATION_SYSTEM,
    URI_SYSTEM,
)
from gateway.proxy.call import FhirCall
from gateway.proxy.context import RequestContext
from gateway.proxy.reads import passthrough
from gateway.proxy.recipient import recipient_principals, recipient_view
from gateway.proxy.references import stored
from gateway.proxy.urls import PublicUrls
from gateway.proxy.writes import store_refusal
from gateway.served import Served
from gateway.signing.bundle import canonical, sign_bundle
from gateway.signing.jades import Verified
from gateway.signing.pki import KeyRing, TrustStore, organization_oid
from gateway.store.client import Upstream
from gateway.store.search import SearchFailed, search_all

__all__ = ["DOCUMENT_OPERATIONS", "PlanDocuments"]

DOCUMENT_OPERATIONS = frozenset(
    {("CarePlan", "$document"), ("CarePlan", "$receive-document"), (None, "$verify-document")}
)
"""(resource type, operation) of the operations served here; a type's operation is on an instance."""

_log = logging.getLogger("gateway.proxy.documents")
_HELSINKI = ZoneInfo("Europe/Helsinki")
_MAX_RESOURCES = 500
"""The most resources a plan document gathers: a plan reaching more is refused, not cut short."""
_PURPOSES = frozenset({PurposeOfUse.TREAT, PurposeOfUse.CAREMGT})


@dataclass(frozen=True)
class PlanDocuments:
    """The document operations on `store`, for `policies`, signing with `keys`, trusting the CAs
    and CRLs in `trust` (read on every verification, so a new CRL applies at once)."""

    store: Upstream
    policies: Policies
    urls: PublicUrls
    keys: KeyRing
    trust: Path
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def serve(self, context: RequestContext, call: FhirCall, body: Mapping[str, Any]) -> Served:
        """Serve one document operation with the resource POSTed (`body`; the caller has checked
        the method and the role, `RequestContext.pre_check`); see the module doc."""
        if call.operation == "$verify-document" and call.resource_type is None:
            return self._verify(body)
        if call.resource_type == "CarePlan" and call.resource_id is not None:
            if call.operation == "$document":
                return await self._issue(context, call.resource_id, _parameters(body))
            if call.operation == "$receive-document":
                return await self._receive(context, call.resource_id, body)
        raise MethodNotAllowed(f"{call.operation} is not served here")

    # -- verify ------------------------------------------------------------------------------

    def _verify(self, bundle: Mapping[str, Any]) -> Served:
        verified, problems = self._check(bundle)
        if problems:
            raise Unprocessable("the document is not valid: " + "; ".join(problems))
        assert verified is not None
        return Served(200, _information(_signed_by(verified)))

    def _check(self, bundle: Mapping[str, Any]) -> tuple[Verified | None, list[str]]:
        """The verified signer of `bundle` and every way it fails (structure and signature)."""
        try:
            trust = TrustStore.load(self.trust)
        except (OSError, ValueError) as exc:
            _log.error("the document trust store %s could not be read: %s", self.trust, exc)
            unread = "signature: the trust store could not be read, so no signature is trusted"
            return None, [*document_problems(bundle), unread]
        return check_document(bundle, trust, self.clock())

    # -- issue -------------------------------------------------------------------------------

    async def _issue(self, context: RequestContext, plan_id: str, params: Mapping[str, Any]) -> Served:
        recipient, purpose, language = _issue_parameters(params)
        principal = context.principal
        plan_ref, plan = await self._personal_workers_plan(context, plan_id, "issue a document of the plan")
        if recipient == principal.organization:
            raise Unprocessable("a plan document is issued for another organisation than the issuer's")
        organization = await stored(self.store, recipient)
        if organization is None or organization.get("resourceType") != "Organization":
            raise Unprocessable(f"the recipient {recipient} is no organisation known to the FHIR store")
        sector, oid, name = _organization_facts(organization)
        if sector is None or oid is None:
            raise Unprocessable(f"the recipient {recipient} names no sector or no SOTE organisation OID")
        pool = await self._gather({plan_ref: plan}, [principal.organization])
        facts = await context.facts([plan])
        principals = recipient_principals(self.policies.role, recipient, oid, sector, purpose)
        view = recipient_view(pool, principals, self.policies, facts, left_out(language))
        client = str(plan.get("subject", {}).get("reference", ""))
        lacking = view.lacks(plan_ref, client)
        if lacking == "plan":
            raise Forbidden(
                f"{name} may not receive this plan: neither its role nor the client's consents let it read the plan",
                view.reasons,
            )
        if lacking == "client":
            raise Forbidden(
                f"{name} may not see the client's own record (Patient) under her consents, so no document can name her to it",
                view.reasons,
            )
        reached, missing = closure(view.resources, [plan_ref, principal.organization])
        if missing:
            raise UpstreamFailure("the plan reaches resources the FHIR store could not give")
        previous = await self._current_for(plan_ref, recipient)
        now = self.clock()
        consents = [c for f in facts.values() if isinstance(f.consents, ConsentsOnFile) for c in f.consents.consents]
        request = DocumentRequest(
            plan=plan_ref,
            issuer=principal.organization,
            recipient=recipient,
            recipient_name=name,
            purpose=str(purpose),
            identifier=_series_of(previous) or f"urn:uuid:{uuid.uuid4()}",
            instance=f"urn:uuid:{uuid.uuid4()}",
            version=_version_of(previous) + 1,
            date=now.astimezone(_HELSINKI).replace(microsecond=0).isoformat(),
            base=self.urls.public_base,
            language=language,
            consents=consent_lines(consents, {recipient: name}, language, recipient),
            replaces=_master_of(previous),
        )
        bundle = compose(request, reached)
        problems = document_problems(bundle)
        if problems:
            _log.error("a composed plan document breaks the document rules: %s", problems)
            raise Unexpected()
        key = self.keys.current(principal.organization)
        if key is None or organization_oid(key.certificate) != principal.organization_oid:
            raise ServiceUnavailable(f"{principal.organization} has no document-signing key here: nothing was issued")
        signed = sign_bundle(bundle, key, principal.organization, principal.organization_oid, now)
        index = _index_entry(signed, request, client, issued=True, replaces=previous)
        refused = await self._store(context, signed, index, previous)
        if refused is not None:
            return refused
        contents = tuple(
            f"{ref}/_history/{resource['meta']['versionId']}" if resource.get("meta", {}).get("versionId") else ref
            for ref, resource in sorted(reached.items())
        )
        context.disclose(
            DocumentDisclosure(
                recipient=recipient,
                recipient_oid=oid,
                recipient_sector=str(sector),
                purpose=str(purpose),
                document=request.document_identifier,
                version=request.version,
                patient=client,
                contents=contents,
                social_welfare=any(SOC in _all_labels(resource) for resource in reached.values()),
            )
        )
        return Served(200, signed, {}, context.patients(), Effect.PERMIT, context.reasons())

    # -- receive -----------------------------------------------------------------------------

    async def _receive(self, context: RequestContext, plan_id: str, bundle: Mapping[str, Any]) -> Served:
        principal = context.principal
        plan_ref, plan = await self._personal_workers_plan(context, plan_id, "receive a document into the plan")
        verified, problems = self._check(bundle)
        client = str(plan.get("subject", {}).get("reference", ""))
        patient = await stored(self.store, client)
        problems += _subject_problems(bundle, patient) + _profile_problems(bundle)
        signer = organization_oid(verified.certificate) if verified else None
        if signer == principal.organization_oid:
            problems.append("the document is signed by the receiving organisation itself: receive documents of others")
        if not problems and await self._already_stored(str(bundle["identifier"]["value"])):
            problems.append("a document with this Bundle.identifier is already stored (an identifier is never reused)")
        if problems:
            raise Unprocessable("the document was refused and nothing was stored: " + "; ".join(problems))
        assert verified is not None and signer is not None
        document = dict(bundle)  # stored as received: its signed content is not ours to change
        composition = document["entry"][0]["resource"]
        request = DocumentRequest(
            plan=plan_ref,
            issuer=str((composition.get("custodian") or {}).get("reference") or ""),
            recipient=principal.organization,
            purpose=str(PurposeOfUse.TREAT),
            identifier=str((composition.get("identifier") or {}).get("value") or document["identifier"]["value"]),
            instance=str(document["identifier"]["value"]),
            version=_version_in(composition, 1),
            date=str(document.get("timestamp")),
            base="",
        )
        index = _index_entry(document, request, client, issued=False, signer=signer, document_id=str(uuid.uuid4()))
        refused = await self._store(context, document, index, None)
        if refused is not None:
            return refused
        return Served(200, _information(_signed_by(verified) + "; stored and linked to " + plan_ref))

    # -- the store ---------------------------------------------------------------------------

    async def _store(
        self,
        context: RequestContext,
        document: dict[str, Any],
        index: dict[str, Any],
        previous: Mapping[str, Any] | None,
    ) -> Served | None:
        """Store `document` and its `index` entry, and supersede `previous`, in one transaction;
        the store's refusal, passed on, if it refuses (nothing is stored then)."""
        document_id = str(index["id"])
        entries: list[dict[str, Any]] = [
            self._entry({**document, "id": document_id}, {"method": "PUT", "url": f"Bundle/{document_id}"}),
            self._entry(index, {"method": "PUT", "url": f"DocumentReference/{document_id}"}),
        ]
        writes = [f"PUT Bundle/{document_id}", f"PUT DocumentReference/{document_id}"]
        if previous is not None:
            superseded = {**previous, "status": "superseded"}
            version = str(previous.get("meta", {}).get("versionId", ""))
            url = f"DocumentReference/{previous['id']}"
            entries.append(self._entry(superseded, {"method": "PUT", "url": url, "ifMatch": f'W/"{version}"'}))
            writes.append(f"PUT DocumentReference/{previous['id']} (version {version})")
        await context.intend(*writes)
        transaction = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"}
        answer = await self.store.send(
            "POST", "", headers=headers, content=json.dumps(transaction, ensure_ascii=False).encode()
        )
        if answer.status in (409, 412) and previous is not None:
            raise PreconditionFailed("another version of this document was issued meanwhile; nothing was stored")
        if answer.status != 200:
            return passthrough(store_refusal(answer), context.patients())
        return None

    def _entry(self, resource: Mapping[str, Any], request: Mapping[str, str]) -> dict[str, Any]:
        """A transaction entry writing `resource` by `request`, its fullUrl on the store."""
        return {"fullUrl": f"{self.store.base_url}/{request['url']}", "resource": resource, "request": request}

    async def _personal_workers_plan(
        self, context: RequestContext, plan_id: str, what: str
    ) -> tuple[str, dict[str, Any]]:
        """The plan `plan_id` (its reference, as stored), if the caller is its client's personal
        worker: 404 as for a missing plan if the caller may not read it, 403 if it may only read."""
        plan_ref = f"CarePlan/{plan_id}"
        plan = await stored(self.store, plan_ref)
        if plan is None:
            raise NotFound(unknown(plan_ref))
        decider = await context.decider([plan], Interaction.OPERATION, teams=True)
        if decider.decide(plan, Interaction.READ).effect is not Effect.PERMIT:
            raise Unseen(unknown(plan_ref), context.reasons())
        allowed = decider.decide(plan)
        if allowed.effect is not Effect.PERMIT:
            raise Forbidden(f"only the client's personal worker may {what}", allowed.reasons)
        return plan_ref, plan

    async def _gather(self, known: Mapping[str, dict[str, Any]], roots: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Every resource `known` (already read, `Type/id` → resource) and `roots` reach on the
        store, read wave by wave (missing ones left out; nothing read twice)."""
        pool: dict[str, dict[str, Any]] = dict(known)
        wanted = list(dict.fromkeys([*known, *roots]))
        tried: set[str] = set()
        while wanted:
            tried.update(wanted)
            if len(tried) > _MAX_RESOURCES:
                raise Unprocessable(f"the plan reaches more than {_MAX_RESOURCES} resources: no document is made of it")
            unread = [reference for reference in wanted if reference not in pool]
            found = await asyncio.gather(*(stored(self.store, reference) for reference in unread))
            for reference, resource in zip(unread, found, strict=True):
                if resource is not None:
                    pool[reference] = resource
            wanted = sorted(
                {
                    target
                    for reference in wanted
                    if reference in pool
                    for target in (relative_reference(r) for r in references_of(pool[reference]))
                    if target is not None and target not in tried
                }
            )
        return pool

    async def _already_stored(self, identifier: str) -> bool:
        """Whether a document with Bundle.identifier `identifier` is stored (by its index entry)."""
        try:
            found = await search_all(self.store, "DocumentReference", {"identifier": f"{URI_SYSTEM}|{identifier}"})
        except SearchFailed as exc:
            raise UpstreamUnavailable("the stored documents could not be read, so nothing was stored") from exc
        return bool(found)

    async def _current_for(self, plan: str, recipient: str) -> dict[str, Any] | None:
        """The current document of `plan` issued for `recipient`, if any."""
        try:
            found = await search_all(self.store, "DocumentReference", {"related": plan, "status": "current"})
        except SearchFailed as exc:
            raise UpstreamUnavailable("the plan's documents could not be read, so nothing was issued") from exc
        mine = [
            dict(d) for d in found if _extension(d, DOCUMENT_RECIPIENT, "valueReference").get("reference") == recipient
        ]
        if len(mine) > 1:
            raise UpstreamFailure("the FHIR store holds two current documents of the plan for one recipient")
        return mine[0] if mine else None


def _issue_parameters(params: Mapping[str, Any]) -> tuple[str, PurposeOfUse, str]:
    recipient = params.get("recipient")
    if not isinstance(recipient, str) or not recipient.startswith("Organization/") or "/" in recipient[13:]:
        raise BadRequest("$document needs the parameter recipient: valueReference to Organization/<id>")
    purpose = params.get("purpose", "")
    if purpose not in {p.value for p in _PURPOSES}:
        raise BadRequest("$document needs the parameter purpose: valueCode TREAT or CAREMGT")
    language = params.get("language", "fi")
    if language not in ("fi", "sv"):
        raise BadRequest("the parameter language is fi or sv")
    return recipient, PurposeOfUse(purpose), str(language)


def _parameters(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The Parameters resource `resource`, as name → value (a reference as its string)."""
    if resource.get("resourceType") != "Parameters":
        raise BadRequest("the body of $document is a Parameters resource")
    values: dict[str, Any] = {}
    for parameter in resource.get("parameter", []) or []:
        if not isinstance(parameter, Mapping) or not isinstance(parameter.get("name"), str):
            raise BadRequest("every parameter has a name")
        name = parameter["name"]
        if name in values:
            raise BadRequest(f"the parameter {name} is given twice")
        if name not in ("recipient", "purpose", "language"):
            raise BadRequest(f"$document has no parameter {name[:40]!r}")
        reference = parameter.get("valueReference")
        values[name] = reference.get("reference") if isinstance(reference, Mapping) else parameter.get("valueCode")
    return values


def _organization_facts(organization: Mapping[str, Any]) -> tuple[Sector | None, str | None, str]:
    """The organisation's sector, SOTE OID and name."""
    codes = [
        str(coding.get("code"))
        for kind in organization.get("type", []) or []
        for coding in kind.get("coding", []) or []
        if coding.get("system") == SECTOR_SYSTEM
    ]
    sectors = [Sector(code) for code in codes if code in {s.value for s in Sector}]
    oids = [
        str(i.get("value"))
        for i in organization.get("identifier", []) or []
        if i.get("system") == SOTE_ORGANIZATION_SYSTEM
    ]
    return (
        (sectors[0] if sectors else None),
        (oids[0] if oids else None),
        str(organization.get("name") or "the recipient"),
    )


def _index_entry(
    document: Mapping[str, Any],
    request: DocumentRequest,
    client: str,
    *,
    issued: bool,
    signer: str = "",
    replaces: Mapping[str, Any] | None = None,
    document_id: str = "",
) -> dict[str, Any]:
    """The DocumentReference of one stored document; its id and the stored Bundle's are
    `document_id`, by default the uuid of the document's own identifier (ours are urn:uuid)."""
    instance = str(document["identifier"]["value"])
    document_id = document_id or instance.rsplit(":", 1)[-1]
    author = (
        {"reference": request.issuer}
        if issued
        else {"identifier": {"system": SOTE_ORGANIZATION_SYSTEM, "value": signer}}
    )
    index: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": document_id,
        "meta": {"profile": [DOCUMENT_REFERENCE_PROFILE]},
        "extension": [
            {"url": DOCUMENT_RECIPIENT, "valueReference": {"reference": request.recipient}},
            {"url": DOCUMENT_PURPOSE, "valueCoding": {"system": ACT_REASON_SYSTEM, "code": request.purpose}},
            {"url": DOCUMENT_VERSION, "valuePositiveInt": request.version},
        ],
        "masterIdentifier": {"system": URI_SYSTEM, "value": instance},
        "identifier": [{"system": URI_SYSTEM, "value": request.identifier}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [PLAN_OF_CARE]},
        "subject": {"reference": client},
        "date": str(document.get("timestamp")),
        "author": [author],
        "custodian": author,
        "content": [
            {
                "attachment": {
                    "contentType": "application/fhir+json",
                    "url": f"Bundle/{document_id}",
                    "hash": base64.b64encode(
                        hashlib.sha1(canonical(document), usedforsecurity=False).digest()
                    ).decode(),
                    "creation": str(document.get("timestamp")),
                }
            }
        ],
        "context": {"related": [{"reference": request.plan}]},
    }
    if replaces is not None:
        index["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{replaces['id']}"}}]
    return index


def _subject_problems(bundle: Mapping[str, Any], patient: Mapping[str, Any] | None) -> list[str]:
    """Why the document is not about the plan's client (matched by henkilötunnus), if it is not."""
    found = bundle.get("entry")
    entries: list[Any] = found if isinstance(found, list) else []
    composition = entries[0].get("resource", {}) if entries and isinstance(entries[0], Mapping) else {}
    subject = str((composition.get("subject") or {}).get("reference", "")) if isinstance(composition, Mapping) else ""
    theirs = next(
        (
            e.get("resource")
            for e in entries
            if isinstance(e, Mapping) and relative_reference(str(e.get("fullUrl", ""))) == relative_reference(subject)
        ),
        None,
    )
    hetu = _hetu_of(theirs) if isinstance(theirs, Mapping) else None
    if hetu is None:
        return ["the document's subject carries no henkilötunnus"]
    if patient is None or _hetu_of(patient) != hetu:
        return ["the document is about another client than the plan's"]
    return []


def _profile_problems(bundle: Mapping[str, Any]) -> list[str]:
    """Entries of a type we profile that do not declare our profile (HAPI validates what is declared)."""
    problems = []
    for number, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") not in PROFILES:
            continue
        declared = (resource.get("meta") or {}).get("profile") or []
        if PROFILES[str(resource["resourceType"])] not in declared:
            problems.append(
                f"Bundle.entry[{number}] ({resource['resourceType']}) does not declare the profile "
                f"{PROFILES[str(resource['resourceType'])]}"
            )
    return problems


def _hetu_of(patient: Mapping[str, Any]) -> str | None:
    return next(
        (str(i.get("value")) for i in patient.get("identifier", []) or [] if i.get("system") == HETU_SYSTEM), None
    )


def _all_labels(resource: Mapping[str, Any]) -> frozenset[Label]:
    """The labels of `resource` and of its labelled parts."""
    parts = [
        part
        for element in LABELLED_PARTS.get(str(resource.get("resourceType")), ())
        for part in resource.get(element, []) or []
        if isinstance(part, Mapping)
    ]
    return resource_labels(resource).union(*(part_labels(part) for part in parts))


def _extension(resource: Mapping[str, Any], url: str, kind: str) -> Mapping[str, Any]:
    value = next((e.get(kind) for e in resource.get("extension", []) or [] if e.get("url") == url), None)
    return value if isinstance(value, Mapping) else {}


def _series_of(previous: Mapping[str, Any] | None) -> str | None:
    return str(previous["identifier"][0]["value"]) if previous else None


def _master_of(previous: Mapping[str, Any] | None) -> str | None:
    return str(previous["masterIdentifier"]["value"]) if previous else None


def _version_of(previous: Mapping[str, Any] | None) -> int:
    if previous is None:
        return 0
    return int(next(e["valuePositiveInt"] for e in previous["extension"] if e.get("url") == DOCUMENT_VERSION))


def _version_in(composition: Mapping[str, Any], default: int) -> int:
    """The Composition's version (the R4 versionNumber extension), `default` if it has none."""
    value = next(
        (e.get("valueString") for e in composition.get("extension", []) or [] if e.get("url") == COMPOSITION_VERSION),
        None,
    )
    return int(value) if isinstance(value, str) and value.isdigit() else default


def _signed_by(verified: Verified) -> str:
    return f"the signature is valid: signed by {verified.certificate.subject.rfc4514_string()} (organisation {organization_oid(verified.certificate)}) at {verified.signed_at.isoformat()}"


def _information(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": text}],
    }
