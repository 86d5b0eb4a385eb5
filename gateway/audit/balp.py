"""The BALP AuditEvents (FHIR R4 JSON) that record one `AuditRecord`; pure, no I/O.

`events_of(record, server=...)` returns the events to store, in this order:

1. REST events (IHE BALP, https://profiles.ihe.net/ITI/BALP): one per client (patient) whose
   data the request touched, each carrying only that client's entities; exactly one, with no
   patient entity, when there is none. The clients are `record.patients` followed by any
   client a `Disclosed` names that `record.patients` lacks, so no disclosure goes unaudited.
2. AuthZ events (BALP AuthZconsent), one per client likewise, when the record carries an
   access decision: it has reasons, or the gateway refused an authenticated caller
   (effect DENY and outcome DENIED). Plain failures (400, 404, 502, ...) carry effect DENY
   too (`Served.failed`) but no decision, so they get no AuthZ event.
3. With a `DocumentDisclosure` (a signed plan document issued to another party): a disclosure
   event, DCM#110106 Export (as IHE's document-sharing profiles record a document sent out),
   the issuing organisation as source (DCM#110153), the recipient organisation as destination
   (DCM#110152, with its SOTE OID and sector), the client, the document (its Bundle.identifier,
   resource-types#Bundle, object-role#3 Report, the version in `name`) and each resource it
   holds; purposeOfEvent the document's purpose. When the document carries social welfare
   information to another organisation, a second event of the same shape typed
   `audit-event-type#social-welfare-disclosure` (ours): the disclosure notice
   (luovutusilmoitus) the social welfare register keeps, in the manner of Kanta's
   SocialWelfareAuditEvent.

`search_keys(event)` gives the values an auditor searches on; it requires an event made here.
`server` is the gateway's FHIR base URL; `record.recorded_at` must be timezone-aware.

Choices, with the BALP rules they follow (BALP FSH sources, input/fsh/*.fsh):
- type `audit-event-type#rest`, subtype `restful-interaction`: search → search-type
  (search-system for a follow-up page, which names no type), history → history-instance,
  transaction → transaction, batch → batch, unknown → no subtype. A browser login (the return
  from the identity provider) and a logout are DICOM's User Authentication (DCM#110114) with
  subtype Login (110122) or Logout (110123) instead, otherwise alike (the person as requestor).
- action: C create; R read, vread (BALP Read), history, capabilities; U update, patch (BALP
  Update); D delete; E search (BALP Query fixes E), operation, transaction, batch, unknown.
- outcome: 0 success, 4 denied, 8 failed below 500, 12 failed at 500 or above; `outcomeDesc`
  names the HTTP status and the reason codes (or why authentication failed). A record of an
  intended write (`AuditOutcome.INTENDED`, made before the write is sent to the store) is one
  REST event per client with no `outcome` (R4 allows none; it is not known yet) and an
  `outcomeDesc` naming the writes; the event of the same X-Request-Id with an outcome
  completes it. It carries no AuthZ event: the completing record carries the decision.
- Client and server agents take BALP's role types per interaction, which differ from one
  another: read/vread (and history, capabilities) client DCM#110152 Destination and gateway
  DCM#110153 Source (BALP Read: the data flows to the client); search, create, update, patch
  (and the rest) client 110153 Source, gateway 110152 Destination (BALP Query, Create,
  Update); delete client DCM#110150 Application, gateway provenance-participant-type#custodian
  (BALP Delete). The client is `who.identifier` (client-id system) with its IP address; the
  gateway is `who` {identifier: `server` (urn:ietf:rfc:3986), display "Yhteys gateway"} with
  `server` as its network address (type 5, URI, as in BALP's examples).
- The user agent (requestor) is the PractitionerRole in `who.reference`, typed
  v3-ParticipationType#IRCP for reads and queries and #AUT for create, update, patch, delete
  and transaction (BALP's DataSources value set allows no IRCP there). Its `policy` is the
  token's `urn:ietf:params:oauth:jti:<jti>` followed by every reason's rule URI (house style:
  agent.policy holds the rule ids and the jti; R4 `policy` is searchable); its
  `purposeOfUse` is the v3-ActReason code, with the break-the-glass reason as text. An
  anonymous caller is a requestor with `who.display` "anonymous", no policy, no purpose.
- The organisation is its own agent, as in BALP AuthZconsent's `userorg`: type
  v3-RoleClass#PROV, `who.reference` the Organization, `role` its sector (CodeSystem/sector),
  requestor false; so auditors find events by organisation, sector and professional. The
  user agent's `role` holds the professional's team roles (CodeSystem/team-role).
- source: observer = the gateway (as above), type security-source-type#4 Application Server;
  AuthZ events add #6 Security Server (BALP's AuthZ examples), as the gateway decides too.
- Entities of REST events: the patient (audit-entity-type#1, object-role#1); for search and
  history the query (audit-entity-type#2, object-role#24, `query` = base64 of `record.path`,
  "?" and `record.query`; a POST _search body is not part of it); the X-Request-Id (BALP
  BasicAuditEntityType#XrequestId, `what.identifier`). Disclosed resources, role
  object-role#4: for read, vread, create, update, patch and delete, typed
  audit-entity-type#2 (BALP's `data` entity, versioned reference); for search, history and
  the rest typed by their resource type (`resource-types`, in R4's entity-type value set),
  because BALP Query slices entities by type alone and a #2 entity would be taken for its one
  query. With nothing disclosed to an event, the resource the URL names (Type/id, or only the
  type for a create) stands in. Disclosed resources of no client (directory data) go into
  the first event only, so each disclosure is counted once.
- AuthZ events: type DCM#110113 Security Alert, subtype BALP AuthZsubType#AuthZ-Consent
  when any reason's rule is under `CONSENT_RULE_BASE`, else AuthZ-Role; action E;
  outcome 0 for PERMIT, 4 otherwise. Agents per AuthZconsent: client (DCM#110150
  Application), user (IRCP), organisation (PROV), authorizer (extra-security-role-type
  #authserver, who = source.observer as invariant val-audit-source demands). Entities follow
  AuthZconsent's closed slicing: the patient, each Consent a reason cites
  (`<CONSENT_RULE_BASE>Consent/<id>`, resource-types#Consent, object-role#13), the token (BALP
  UserAgentTypes#UserOauthAgent, jti URN). The reasons themselves are the user agent's
  `policy` (rule URIs) and the `outcomeDesc` (codes); the X-Request-Id has no place in that
  closed list, so an AuthZ event pairs with its REST event by jti and `recorded`.
- meta.profile names the BALP profile only when the event conforms to it: a successful read,
  vread, search, create, update, patch or delete with the client's address known (BALP's
  REST profiles fix outcome 0 and require the client's network), the Patient* variant when
  the event has a patient; AuthZconsent only with a patient and at least one Consent. Other
  events (failures, history, capabilities, operation, transaction) carry no profile.
- No event has an id (the store assigns one). `recorded` is ISO 8601 in UTC with microseconds,
  fixed width, so that recorded times sort as text in time order.

Known limits of the record: reasons are not tied to clients, so each client's events carry
all of the request's reasons (and Consents); the record holds one effect for a whole
request, so a batch with some entries refused records PERMIT; the team roles of the caller
are the token's (the personal-worker relation, derived per client, is not among them).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from gateway.access.seam import Effect
from gateway.audit.record import Anonymous, AuditOutcome, AuditRecord, Caller, DocumentDisclosure
from gateway.fhir.codes import Interaction
from gateway.fhir.systems import (
    AUDIT_EVENT_TYPE_SYSTEM,
    CLIENT_ID_SYSTEM,
    CONSENT_RULE_BASE,
    REQUEST_ID_SYSTEM,
    RESOURCE_TYPES_SYSTEM,
    RESTFUL_INTERACTION_SYSTEM,
    SECTOR_SYSTEM,
    SOTE_ORGANIZATION_SYSTEM,
    TEAM_ROLE_SYSTEM,
    TERMINOLOGY_BASE,
    URI_SYSTEM,
)

__all__ = ["events_of", "search_keys"]


_BALP = "https://profiles.ihe.net/ITI/BALP"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_JTI = "urn:ietf:params:oauth:jti:"
_GATEWAY = "Yhteys gateway"

_Coding = dict[str, str]


def _coding(system: str, code: str, display: str) -> _Coding:
    return {"system": system, "code": code, "display": display}


_REST = _coding(f"{TERMINOLOGY_BASE}/audit-event-type", "rest", "Restful Operation")
_SECURITY_ALERT = _coding(_DCM, "110113", "Security Alert")
_EXPORT = _coding(_DCM, "110106", "Export")
_USER_AUTHENTICATION = _coding(_DCM, "110114", "User Authentication")
_SESSION_EVENTS = {"login-callback": _coding(_DCM, "110122", "Login"), "logout": _coding(_DCM, "110123", "Logout")}
"""A browser login's return from the identity provider, and a logout: DICOM User Authentication events."""
_DISCLOSURE_NOTICE = _coding(AUDIT_EVENT_TYPE_SYSTEM, "social-welfare-disclosure", "Social welfare disclosure notice")
_SOURCE_ROLE = _coding(_DCM, "110153", "Source Role ID")
_DESTINATION_ROLE = _coding(_DCM, "110152", "Destination Role ID")
_APPLICATION = _coding(_DCM, "110150", "Application")
_CUSTODIAN = _coding(f"{TERMINOLOGY_BASE}/provenance-participant-type", "custodian", "Custodian")
_RECIPIENT = _coding(f"{TERMINOLOGY_BASE}/v3-ParticipationType", "IRCP", "information recipient")
_AUTHOR = _coding(f"{TERMINOLOGY_BASE}/v3-ParticipationType", "AUT", "author (originator)")
_PROVIDER = _coding(f"{TERMINOLOGY_BASE}/v3-RoleClass", "PROV", "healthcare provider")
_AUTHORIZER = _coding(f"{TERMINOLOGY_BASE}/extra-security-role-type", "authserver", "authorization server")
_APPLICATION_SERVER = _coding(f"{TERMINOLOGY_BASE}/security-source-type", "4", "Application Server")
_SECURITY_SERVER = _coding(f"{TERMINOLOGY_BASE}/security-source-type", "6", "Security Server")
_PERSON = _coding(f"{TERMINOLOGY_BASE}/audit-entity-type", "1", "Person")
_SYSTEM_OBJECT = _coding(f"{TERMINOLOGY_BASE}/audit-entity-type", "2", "System Object")
_PATIENT_ROLE = _coding(f"{TERMINOLOGY_BASE}/object-role", "1", "Patient")
_DOMAIN_RESOURCE = _coding(f"{TERMINOLOGY_BASE}/object-role", "4", "Domain Resource")
_REPORT = _coding(f"{TERMINOLOGY_BASE}/object-role", "3", "Report")
_SECURITY_RESOURCE = _coding(f"{TERMINOLOGY_BASE}/object-role", "13", "Security Resource")
_QUERY_ROLE = _coding(f"{TERMINOLOGY_BASE}/object-role", "24", "Query")
_REQUEST_ID = _coding(f"{_BALP}/CodeSystem/BasicAuditEntityType", "XrequestId", "X-Request-Id")
_OAUTH_TOKEN = _coding(f"{_BALP}/CodeSystem/UserAgentTypes", "UserOauthAgent", "User OAuth Agent participant")
_AUTHZ_CONSENT = _coding(
    f"{_BALP}/CodeSystem/AuthZsubType", "AuthZ-Consent", "Authorization Decision using Roles and Consent"
)
_AUTHZ_ROLE = _coding(f"{_BALP}/CodeSystem/AuthZsubType", "AuthZ-Role", "Authorization Decision using only Roles")
_PURPOSES = {
    "TREAT": "treatment",
    "CAREMGT": "care management",
    "BTG": "break the glass",
    "PATRQT": "patient requested",
}


@dataclass(frozen=True)
class _Pattern:
    """How BALP records one interaction: subtype, action, agent types and profile."""

    subtype: str | None
    action: str
    client: _Coding
    server: _Coding
    user: _Coding
    profile: str | None  # the BALP profile's name without "Patient"; None: BALP has none


def _to_client(subtype: str | None, action: str, profile: str | None = None) -> _Pattern:
    """Data flows to the client (BALP Read): client Destination, gateway Source."""
    return _Pattern(subtype, action, _DESTINATION_ROLE, _SOURCE_ROLE, _RECIPIENT, profile)


def _to_server(subtype: str | None, action: str, profile: str | None = None, user: _Coding = _RECIPIENT) -> _Pattern:
    """The request flows to the gateway (BALP Query, Create, Update): client Source, gateway Destination."""
    return _Pattern(subtype, action, _SOURCE_ROLE, _DESTINATION_ROLE, user, profile)


_PATTERNS: dict[str, _Pattern] = {
    Interaction.READ: _to_client("read", "R", "Read"),
    Interaction.VREAD: _to_client("vread", "R", "Read"),
    Interaction.SEARCH: _to_server("search-type", "E", "Query"),
    Interaction.HISTORY: _to_client("history-instance", "R"),
    Interaction.CREATE: _to_server("create", "C", "Create", _AUTHOR),
    Interaction.UPDATE: _to_server("update", "U", "Update", _AUTHOR),
    Interaction.PATCH: _to_server("patch", "U", "Update", _AUTHOR),
    Interaction.DELETE: _Pattern("delete", "D", _APPLICATION, _CUSTODIAN, _AUTHOR, "Delete"),
    Interaction.CAPABILITIES: _to_client("capabilities", "R"),
    Interaction.OPERATION: _to_server("operation", "E"),
    Interaction.TRANSACTION: _to_server("transaction", "E", None, _AUTHOR),
    Interaction.BATCH: _to_server("batch", "E"),
}
_UNKNOWN = _to_server(None, "E")
_ONE_RESOURCE = frozenset({"read", "vread", "create", "update", "patch", "delete"})
_QUERIES = frozenset({"search", "history"})
_SUBJECT_ROLES = (_DOMAIN_RESOURCE, _SECURITY_RESOURCE)


def events_of(record: AuditRecord, *, server: str) -> list[dict[str, Any]]:
    """The AuditEvents recording `record`: its REST events, then its AuthZ events (if any).

    Requires `record.recorded_at` to be timezone-aware (ValueError otherwise). The events share
    constant codings with each other: treat them as read-only.
    """
    if record.recorded_at.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    patients = _patients(record)
    slots: Sequence[str | None] = patients or (None,)
    events = [_rest_event(record, server, patient, first=i == 0) for i, patient in enumerate(slots)]
    if _has_decision(record):
        events += [_authz_event(record, server, patient) for patient in slots]
    if record.disclosure is not None:
        events.append(_disclosure_event(record, record.disclosure, server, _EXPORT))
        if record.disclosure.social_welfare:
            events.append(_disclosure_event(record, record.disclosure, server, _DISCLOSURE_NOTICE))
    return events  # shares constant codings between events: read-only (the store copies what it changes)


def search_keys(event: Mapping[str, Any]) -> dict[str, str | None]:
    """What an auditor searches on: date, patient, agent (the professional), organization,
    sector, client_id, entity, type, subtype, outcome, purpose; None where the event has none.

    Requires an event made by `events_of` (it finds agents and entities by the shapes used here).
    """
    agents: list[dict[str, Any]] = event["agent"]
    entities: list[dict[str, Any]] = event["entity"]
    user = _first(agents, lambda a: a["requestor"])
    organization = _first(agents, lambda a: _PROVIDER in a["type"]["coding"])
    client = _first(agents, lambda a: a["who"].get("identifier", {}).get("system") == CLIENT_ID_SYSTEM)
    patient = _first(entities, lambda e: e["type"] == _PERSON)
    subject = _first(entities, lambda e: e.get("role") in _SUBJECT_ROLES and "reference" in e["what"])
    subtypes = event.get("subtype", [])
    purposes = event.get("purposeOfEvent", [])
    return {
        "date": event["recorded"],
        "patient": patient.get("what", {}).get("reference"),
        "agent": user.get("who", {}).get("reference"),
        "organization": organization.get("who", {}).get("reference"),
        "sector": next((r["coding"][0]["code"] for r in organization.get("role", [])), None),
        "client_id": client.get("who", {}).get("identifier", {}).get("value"),
        "entity": subject.get("what", {}).get("reference"),
        "type": event["type"]["code"],
        "subtype": subtypes[0]["code"] if subtypes else None,
        "outcome": event.get("outcome"),
        "purpose": purposes[0]["coding"][0]["code"] if purposes else None,
    }


def _first(items: list[dict[str, Any]], wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first item that is `wanted`, or {}."""
    return next((item for item in items if wanted(item)), {})


# -- the two kinds of event --------------------------------------------------------------


def _rest_event(record: AuditRecord, server: str, patient: str | None, *, first: bool) -> dict[str, Any]:
    pattern = _PATTERNS.get(record.interaction, _UNKNOWN)
    session = _SESSION_EVENTS.get(record.interaction)
    return _event(
        record,
        profile=_rest_profile(record, pattern, patient),
        kind=_USER_AUTHENTICATION if session else _REST,
        subtypes=[session] if session else _rest_subtype(record, pattern),
        action=pattern.action,
        outcome=_rest_outcome(record),
        description=_rest_description(record),
        agents=[
            _user_agent(record, pattern.user),
            *_organization_agent(record.caller),
            _client_agent(record, pattern.client),
            _server_agent(server, pattern.server),
        ],
        source=_source(server, _APPLICATION_SERVER),
        entities=[
            *_patient_entity(patient),
            *_query_entity(record),
            *_data_entities(record, patient, first=first),
            _request_id_entity(record),
        ],
    )


def _authz_event(record: AuditRecord, server: str, patient: str | None) -> dict[str, Any]:
    rules = _rules(record)
    consents = list(
        dict.fromkeys(r[len(CONSENT_RULE_BASE) :] for r in rules if r.startswith(CONSENT_RULE_BASE + "Consent/"))
    )
    conforms = patient is not None and bool(consents) and record.source_address is not None
    permitted = record.effect is Effect.PERMIT
    return _event(
        record,
        profile=f"{_BALP}/StructureDefinition/IHE.BasicAudit.AuthZconsent" if conforms else None,
        kind=_SECURITY_ALERT,
        subtypes=[_AUTHZ_CONSENT if any(rule.startswith(CONSENT_RULE_BASE) for rule in rules) else _AUTHZ_ROLE],
        action="E",
        outcome="0" if permitted else "4",
        description=("permit" if permitted else "deny") + _reason_text(record),
        agents=[
            _client_agent(record, _APPLICATION),
            _user_agent(record, _RECIPIENT),
            *_organization_agent(record.caller),
            {"type": {"coding": [_AUTHORIZER]}, "who": _gateway(server), "requestor": False},
        ],
        source=_source(server, _APPLICATION_SERVER, _SECURITY_SERVER),
        entities=[
            *_patient_entity(patient),
            *({"what": {"reference": c}, "type": _resource_type(c), "role": _SECURITY_RESOURCE} for c in consents),
            *_token_entity(record.caller),
        ],
    )


def _disclosure_event(
    record: AuditRecord, disclosure: DocumentDisclosure, server: str, kind: _Coding
) -> dict[str, Any]:
    recipient = {
        "type": {"coding": [_DESTINATION_ROLE]},
        "who": {
            "reference": disclosure.recipient,
            "identifier": {"system": SOTE_ORGANIZATION_SYSTEM, "value": disclosure.recipient_oid},
        },
        "role": [{"coding": [{"system": SECTOR_SYSTEM, "code": disclosure.recipient_sector}]}],
        "requestor": False,
    }
    issuer = [{**agent, "type": {"coding": [_SOURCE_ROLE, _PROVIDER]}} for agent in _organization_agent(record.caller)]
    document = {
        "what": {"identifier": {"system": URI_SYSTEM, "value": disclosure.document}},
        "type": _resource_type("Bundle"),
        "role": _REPORT,
        "name": f"version {disclosure.version}",
    }
    event = _event(
        record,
        profile=None,
        kind=kind,
        subtypes=[],
        action="R",
        outcome="0",
        description=f"document {disclosure.document} version {disclosure.version} disclosed to "
        f"{disclosure.recipient} for {disclosure.purpose}",
        agents=[_user_agent(record, _AUTHOR), *issuer, _client_agent(record, _APPLICATION), recipient],
        source=_source(server, _APPLICATION_SERVER),
        entities=[
            *_patient_entity(disclosure.patient),
            document,
            *(_data(reference, _resource_type(reference)) for reference in disclosure.contents),
            _request_id_entity(record),
        ],
    )
    event["purposeOfEvent"] = [{"coding": [_purpose(disclosure.purpose)]}]
    return event


def _event(
    record: AuditRecord,
    *,
    profile: str | None,
    kind: _Coding,
    subtypes: list[_Coding],
    action: str,
    outcome: str | None,
    description: str,
    agents: list[dict[str, Any]],
    source: dict[str, Any],
    entities: list[dict[str, Any]],
) -> dict[str, Any]:
    """One AuditEvent in the element order of the R4 resource; no id (the store assigns it)."""
    event: dict[str, Any] = {"resourceType": "AuditEvent"}
    if profile is not None:
        event["meta"] = {"profile": [profile]}
    event["type"] = kind
    if subtypes:
        event["subtype"] = subtypes
    recorded = record.recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    event.update(action=action, recorded=recorded)
    if outcome is not None:
        event["outcome"] = outcome
    event["outcomeDesc"] = description
    if isinstance(record.caller, Caller):
        event["purposeOfEvent"] = [{"coding": [_purpose(record.caller.purpose_of_use)]}]
    event.update(agent=agents, source=source, entity=entities)
    return event


# -- REST details -------------------------------------------------------------------------


def _patients(record: AuditRecord) -> tuple[str, ...]:
    named = {d.patient for d in record.disclosed if d.patient is not None}
    return record.patients + tuple(sorted(named - set(record.patients)))


def _has_decision(record: AuditRecord) -> bool:
    if record.outcome is AuditOutcome.INTENDED:
        return False
    refused = record.effect is Effect.DENY and record.outcome is AuditOutcome.DENIED
    return bool(record.reasons) or (refused and isinstance(record.caller, Caller))


def _rest_subtype(record: AuditRecord, pattern: _Pattern) -> list[_Coding]:
    code = pattern.subtype
    if record.interaction == Interaction.SEARCH and record.resource_type is None:
        code = "search-system"
    return [_coding(RESTFUL_INTERACTION_SYSTEM, code, code)] if code else []


def _rest_outcome(record: AuditRecord) -> str | None:
    if record.outcome is AuditOutcome.INTENDED:
        return None
    if record.outcome is AuditOutcome.SUCCESS:
        return "0"
    if record.outcome is AuditOutcome.DENIED:
        return "4"
    return "8" if record.status < 500 else "12"


def _rest_description(record: AuditRecord) -> str:
    if record.outcome is AuditOutcome.INTENDED:
        return (
            f"intended: {'; '.join(record.intended)} (the event with the same X-Request-Id records the outcome)"
            + _reason_text(record)
        )
    text = f"HTTP {record.status}"
    if isinstance(record.caller, Anonymous):
        text += f"; not authenticated: {record.caller.reason}"
    return text + _reason_text(record)


def _reason_text(record: AuditRecord) -> str:
    codes = list(dict.fromkeys(reason.code for reason in record.reasons))
    return f"; reasons: {', '.join(codes)}" if codes else ""


def _rest_profile(record: AuditRecord, pattern: _Pattern, patient: str | None) -> str | None:
    if pattern.profile is None or record.outcome is not AuditOutcome.SUCCESS or record.source_address is None:
        return None
    return f"{_BALP}/StructureDefinition/IHE.BasicAudit.{'Patient' if patient else ''}{pattern.profile}"


# -- agents and source ----------------------------------------------------------------------


def _rules(record: AuditRecord) -> list[str]:
    return list(dict.fromkeys(reason.rule for reason in record.reasons))


def _user_agent(record: AuditRecord, kind: _Coding) -> dict[str, Any]:
    caller = record.caller
    if isinstance(caller, Anonymous):
        return {"type": {"coding": [kind]}, "who": {"display": "anonymous"}, "requestor": True}
    purpose: dict[str, Any] = {"coding": [_purpose(caller.purpose_of_use)]}
    if caller.btg_reason:
        purpose["text"] = caller.btg_reason
    agent: dict[str, Any] = {"type": {"coding": [kind]}, "who": {"reference": caller.practitioner_role}}
    if caller.team_roles:
        agent["role"] = [{"coding": [{"system": TEAM_ROLE_SYSTEM, "code": role}]} for role in caller.team_roles]
    return {**agent, "requestor": True, "policy": [_JTI + caller.token_jti, *_rules(record)], "purposeOfUse": [purpose]}


def _purpose(code: str) -> _Coding:
    coding = {"system": f"{TERMINOLOGY_BASE}/v3-ActReason", "code": code}
    if code in _PURPOSES:
        coding["display"] = _PURPOSES[code]
    return coding


def _organization_agent(caller: Caller | Anonymous) -> list[dict[str, Any]]:
    if isinstance(caller, Anonymous) or not caller.organization:  # nobody, or a citizen
        return []
    sector = {"coding": [{"system": SECTOR_SYSTEM, "code": caller.sector}]}
    return [
        {
            "type": {"coding": [_PROVIDER]},
            "who": {"reference": caller.organization},
            "role": [sector],
            "requestor": False,
        }
    ]


def _client_agent(record: AuditRecord, kind: _Coding) -> dict[str, Any]:
    who: dict[str, Any] = {"display": "unidentified client"}
    if isinstance(record.caller, Caller):
        who = {"identifier": {"system": CLIENT_ID_SYSTEM, "value": record.caller.client_id}}
    agent: dict[str, Any] = {"type": {"coding": [kind]}, "who": who, "requestor": False}
    if record.source_address:
        agent["network"] = {"address": record.source_address, "type": "2"}
    return agent


def _server_agent(server: str, kind: _Coding) -> dict[str, Any]:
    network = {"address": server, "type": "5"}
    return {"type": {"coding": [kind]}, "who": _gateway(server), "requestor": False, "network": network}


def _gateway(server: str) -> dict[str, Any]:
    return {"identifier": {"system": "urn:ietf:rfc:3986", "value": server}, "display": _GATEWAY}


def _source(server: str, *kinds: _Coding) -> dict[str, Any]:
    return {"observer": _gateway(server), "type": list(kinds)}


# -- entities -------------------------------------------------------------------------------


def _patient_entity(patient: str | None) -> list[dict[str, Any]]:
    return [] if patient is None else [{"what": {"reference": patient}, "type": _PERSON, "role": _PATIENT_ROLE}]


def _request_id_entity(record: AuditRecord) -> dict[str, Any]:
    return {"what": {"identifier": {"system": REQUEST_ID_SYSTEM, "value": record.request_id}}, "type": _REQUEST_ID}


def _token_entity(caller: Caller | Anonymous) -> list[dict[str, Any]]:
    if isinstance(caller, Anonymous):
        return []
    return [{"what": {"identifier": {"value": _JTI + caller.token_jti}}, "type": _OAUTH_TOKEN}]


def _query_entity(record: AuditRecord) -> list[dict[str, Any]]:
    if record.interaction not in _QUERIES:
        return []
    raw = record.path + (f"?{record.query}" if record.query else "")
    return [{"type": _SYSTEM_OBJECT, "role": _QUERY_ROLE, "query": base64.b64encode(raw.encode()).decode("ascii")}]


def _data_entities(record: AuditRecord, patient: str | None, *, first: bool) -> list[dict[str, Any]]:
    """What the event's client had disclosed (directory data in the first event only), else
    the resource the URL names."""
    shown = [d for d in record.disclosed if d.patient == patient or (first and d.patient is None)]
    if record.interaction in _ONE_RESOURCE:
        return [_data(d.reference, _SYSTEM_OBJECT) for d in shown] or _named(record)
    return [_data(d.reference, _resource_type(d.reference)) for d in shown] or _named(record)


def _named(record: AuditRecord) -> list[dict[str, Any]]:
    if record.resource_type is None or record.interaction == Interaction.SEARCH:
        return []
    if record.resource_id is None:
        return [{"what": {"type": record.resource_type}, "type": _SYSTEM_OBJECT, "role": _DOMAIN_RESOURCE}]
    return [_data(f"{record.resource_type}/{record.resource_id}", _SYSTEM_OBJECT)]


def _data(reference: str, kind: _Coding) -> dict[str, Any]:
    return {"what": {"reference": reference}, "type": kind, "role": _DOMAIN_RESOURCE}


def _resource_type(reference: str) -> _Coding:
    name = reference.split("/", 1)[0]
    return _coding(RESOURCE_TYPES_SYSTEM, name, name)
