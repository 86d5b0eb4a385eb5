"""BALP AuditEvents of one audit record: shape (parsed as FHIR), BALP codes per event kind,
and the search keys an auditor uses."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from pydantic import ValidationError

from auth.principal import CitizenPrincipal
from gateway.access.seam import Effect, Reason
from gateway.audit import Anonymous, AuditOutcome, AuditRecord, Caller, Disclosed
from gateway.audit.balp import events_of, search_keys
from gateway.audit.store import AuditStore
from gateway.fhir.systems import CLIENT_ID_SYSTEM, CONSENT_RULE_BASE, REQUEST_ID_SYSTEM

SERVER = "http://127.0.0.1:8000/fhir"
BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANNA, BERT = "Patient/demo-anna", "Patient/demo-bert"


def _rule(code: str) -> Reason:
    return Reason(code, f"https://yhteys.fi/fhir/policy/rule/{code}", "fi", "sv", "en")


def _consent(code: str, rule: str) -> Reason:
    return Reason(code, CONSENT_RULE_BASE + rule, "fi", "sv", "en")


READS_PLAN = _rule("youth-work-reads-plan")
NO_RULE = _rule("no-rule-permits")
BTG_RULE = _rule("break-the-glass-read")
CONSENT_PERMITS = _consent("consent-permits", "Consent/demo-consent")
NO_CONSENT = _consent("no-consent-on-file", "no-consent-on-file")

CALLER = Caller(
    client_id="youth-services",
    organization="Organization/demo-org-youth-services",
    sector="municipal-youth-services",
    practitioner_role="PractitionerRole/demo-role-youth-worker",
    purpose_of_use="TREAT",
    token_jti="jti-1",
)
BTG_CALLER = replace(CALLER, purpose_of_use="BTG", btg_reason="unconscious client, no consent reachable")

READ = AuditRecord(
    request_id="req-1",
    recorded_at=AT,
    caller=CALLER,
    method="GET",
    path="/fhir/CarePlan/demo-plan",
    query="",
    interaction="read",
    resource_type="CarePlan",
    patients=(ANNA,),
    effect=Effect.PERMIT,
    reasons=(READS_PLAN,),
    status=200,
    outcome=AuditOutcome.SUCCESS,
    resource_id="demo-plan",
    disclosed=(Disclosed("CarePlan/demo-plan/_history/3", ANNA),),
    source_address="10.1.2.3",
)
SEARCH = replace(
    READ,
    path="/fhir/CarePlan",
    query="status=active&_include=CarePlan:author",
    interaction="search",
    resource_id=None,
    patients=(ANNA, BERT),
    disclosed=(
        Disclosed("CarePlan/plan-a/_history/1", ANNA),
        Disclosed("CarePlan/plan-b/_history/2", BERT),
        Disclosed("Practitioner/demo-nurse/_history/1", None),
    ),
)
DENIED_READ = replace(
    READ, effect=Effect.DENY, reasons=(NO_RULE,), status=403, outcome=AuditOutcome.DENIED, disclosed=()
)
ANONYMOUS = replace(
    READ,
    caller=Anonymous("the bearer token has expired"),
    interaction="unknown",
    resource_type=None,
    resource_id=None,
    patients=(),
    effect=Effect.DENY,
    reasons=(),
    status=401,
    outcome=AuditOutcome.DENIED,
    disclosed=(),
)


def _events(record: AuditRecord) -> list[dict[str, Any]]:
    """The events of `record`, each one parsed as an R4 (R4B) AuditEvent first."""
    events = events_of(record, server=SERVER)
    for event in events:
        AuditEvent.model_validate(event)
        assert "id" not in event
    return events


def _by_type(event: dict[str, Any], system: str, code: str, where: str = "entity") -> list[dict[str, Any]]:
    """The entities (or agents, where="agent") whose type is system#code."""
    found = []
    for item in event[where]:
        codings = item["type"]["coding"] if where == "agent" else [item["type"]]
        if any(c["system"] == system and c["code"] == code for c in codings):
            found.append(item)
    return found


def _patients(event: dict[str, Any]) -> list[str]:
    entities = _by_type(event, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1")
    assert all(e["role"]["code"] == "1" for e in entities)
    return [e["what"]["reference"] for e in entities]


def _user(event: dict[str, Any]) -> dict[str, Any]:
    users: list[dict[str, Any]] = [agent for agent in event["agent"] if agent["requestor"]]
    assert len(users) == 1
    return users[0]


def _agent_code(event: dict[str, Any], who: str) -> str:
    """The type code of the client ("client") or of the gateway ("gateway") in a REST event."""
    for agent in event["agent"]:
        identifier = agent["who"].get("identifier", {})
        if (who == "client" and identifier.get("system") == CLIENT_ID_SYSTEM) or (
            who == "gateway" and identifier.get("value") == SERVER
        ):
            return str(agent["type"]["coding"][0]["code"])
    raise AssertionError(f"no {who} agent")


def _references(event: dict[str, Any]) -> list[str]:
    return [e["what"]["reference"] for e in event["entity"] if "reference" in e.get("what", {})]


def _profile(event: dict[str, Any]) -> str | None:
    profiles = event.get("meta", {}).get("profile", [])
    return str(profiles[0]) if profiles else None


def test_the_validator_refuses_a_malformed_event() -> None:
    """The shape checks below mean something: a wrong shape does not parse."""
    event = events_of(READ, server=SERVER)[0]
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**event, "type": {"coding": [event["type"]]}})  # R4: a Coding
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**event, "entity": [{"what": "Patient/x"}]})


def test_an_allowed_read_of_one_client() -> None:
    rest, authz = _events(READ)
    assert _profile(rest) == BALP + "PatientRead"
    assert rest["type"]["code"] == "rest" and rest["subtype"][0]["code"] == "read"
    assert (rest["action"], rest["outcome"], rest["recorded"]) == ("R", "0", "2026-11-22T12:00:00.000000+00:00")
    assert _patients(rest) == [ANNA]
    (data,) = _by_type(rest, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2")
    assert data["what"]["reference"] == "CarePlan/demo-plan/_history/3" and data["role"]["code"] == "4"
    (request_id,) = _by_type(rest, "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "XrequestId")
    assert request_id["what"]["identifier"] == {"system": REQUEST_ID_SYSTEM, "value": "req-1"}
    user = _user(rest)
    assert user["type"]["coding"][0]["code"] == "IRCP"
    assert user["who"] == {"reference": CALLER.practitioner_role}
    assert user["policy"] == ["urn:ietf:params:oauth:jti:jti-1", READS_PLAN.rule]
    assert user["purposeOfUse"][0]["coding"][0]["code"] == "TREAT"
    assert rest["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    # BALP Read: the data flows to the client, so the client is the destination
    assert (_agent_code(rest, "client"), _agent_code(rest, "gateway")) == ("110152", "110153")
    assert next(a["network"] for a in rest["agent"] if "network" in a) == {"address": "10.1.2.3", "type": "2"}
    assert rest["source"]["type"][0]["code"] == "4"
    assert authz["type"]["code"] == "110113" and authz["subtype"][0]["code"] == "AuthZ-Role"
    assert authz["outcome"] == "0" and _patients(authz) == [ANNA]
    assert search_keys(rest) == {
        "date": "2026-11-22T12:00:00.000000+00:00",
        "patient": ANNA,
        "agent": CALLER.practitioner_role,
        "organization": CALLER.organization,
        "sector": CALLER.sector,
        "client_id": "youth-services",
        "entity": "CarePlan/demo-plan/_history/3",
        "type": "rest",
        "subtype": "read",
        "outcome": "0",
        "purpose": "TREAT",
    }


def test_a_search_touching_two_clients_yields_one_event_per_client() -> None:
    events = _events(SEARCH)
    rest = [event for event in events if event["type"]["code"] == "rest"]
    assert [_patients(event) for event in rest] == [[ANNA], [BERT]]
    raw = "/fhir/CarePlan?status=active&_include=CarePlan:author"
    for event in rest:
        assert _profile(event) == BALP + "PatientQuery"
        assert (event["subtype"][0]["code"], event["action"]) == ("search-type", "E")
        (query,) = [e for e in event["entity"] if e.get("role", {}).get("code") == "24"]
        assert base64.b64decode(query["query"]).decode() == raw and "what" not in query
        assert (_agent_code(event, "client"), _agent_code(event, "gateway")) == ("110153", "110152")
    # each client's event holds only its own resources; directory data goes into the first only
    assert _references(rest[0]) == [ANNA, "CarePlan/plan-a/_history/1", "Practitioner/demo-nurse/_history/1"]
    assert _references(rest[1]) == [BERT, "CarePlan/plan-b/_history/2"]
    assert [e["type"]["code"] for e in rest[1]["entity"] if e.get("role", {}).get("code") == "4"] == ["CarePlan"]
    assert [search_keys(event)["patient"] for event in events] == [ANNA, BERT, ANNA, BERT]
    entities = [search_keys(event)["entity"] for event in rest]
    assert entities == ["CarePlan/plan-a/_history/1", "CarePlan/plan-b/_history/2"]


def test_a_client_named_only_by_a_disclosed_resource_gets_its_own_event() -> None:
    record = replace(SEARCH, patients=(ANNA,))
    rest = [event for event in _events(record) if event["type"]["code"] == "rest"]
    assert [_patients(event) for event in rest] == [[ANNA], [BERT]]


def test_a_follow_up_page_is_a_system_search() -> None:
    page = replace(SEARCH, path="/fhir", query="_getpages=abc&_getpagesoffset=20", resource_type=None)
    rest = _events(page)[0]
    assert rest["subtype"][0]["code"] == "search-system"
    assert _profile(rest) == BALP + "PatientQuery"


def test_a_denied_read_yields_a_failed_rest_event_and_a_deny_decision() -> None:
    rest, authz = _events(DENIED_READ)
    assert (rest["outcome"], _profile(rest)) == ("4", None)  # BALP's REST profiles fix outcome 0
    assert rest["outcomeDesc"] == "HTTP 403; reasons: no-rule-permits"
    assert _references(rest) == [ANNA, "CarePlan/demo-plan"]  # nothing disclosed: the URL's resource
    assert (authz["outcome"], authz["action"], authz["subtype"][0]["code"]) == ("4", "E", "AuthZ-Role")
    assert _user(authz)["policy"] == ["urn:ietf:params:oauth:jti:jti-1", NO_RULE.rule]
    assert "no-rule-permits" in authz["outcomeDesc"] and authz["outcomeDesc"].startswith("deny")
    assert _profile(authz) is None  # AuthZconsent needs a Consent entity
    assert [a["type"]["coding"][0]["code"] for a in authz["agent"]] == ["110150", "IRCP", "PROV", "authserver"]
    authorizer = authz["agent"][-1]
    assert authorizer["who"] == authz["source"]["observer"]  # BALP invariant val-audit-source
    (token,) = _by_type(authz, "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes", "UserOauthAgent")
    assert token["what"]["identifier"]["value"] == "urn:ietf:params:oauth:jti:jti-1"
    keys = search_keys(authz)
    assert (keys["type"], keys["subtype"], keys["outcome"], keys["patient"]) == ("110113", "AuthZ-Role", "4", ANNA)


def test_a_consent_based_permit_is_an_authz_consent_event() -> None:
    record = replace(READ, reasons=(READS_PLAN, CONSENT_PERMITS))
    authz = _events(record)[1]
    assert authz["subtype"][0]["code"] == "AuthZ-Consent"
    assert _profile(authz) == BALP + "AuthZconsent"
    (consent,) = _by_type(authz, "http://hl7.org/fhir/resource-types", "Consent")
    assert consent["what"] == {"reference": "Consent/demo-consent"}
    assert _user(authz)["policy"][1:] == [READS_PLAN.rule, CONSENT_PERMITS.rule]
    assert search_keys(authz)["entity"] == "Consent/demo-consent"


def test_a_consent_refusal_without_a_consent_on_file() -> None:
    record = replace(DENIED_READ, reasons=(NO_CONSENT,))
    authz = _events(record)[1]
    assert (authz["subtype"][0]["code"], authz["outcome"], _profile(authz)) == ("AuthZ-Consent", "4", None)
    assert _by_type(authz, "http://hl7.org/fhir/resource-types", "Consent") == []


def test_break_the_glass_is_findable_by_purpose_subtype_and_patient() -> None:
    record = replace(READ, caller=BTG_CALLER, reasons=(BTG_RULE,))
    rest, authz = _events(record)
    for event in (rest, authz):
        assert event["purposeOfEvent"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "BTG",
            "display": "break the glass",
        }
        (purpose,) = _user(event)["purposeOfUse"]
        assert purpose["coding"][0]["code"] == "BTG" and purpose["text"] == BTG_CALLER.btg_reason
    keys = search_keys(authz)
    assert (keys["subtype"], keys["patient"], keys["purpose"]) == ("AuthZ-Role", ANNA, "BTG")
    assert search_keys(rest)["purpose"] == "BTG"


def test_an_anonymous_401_yields_one_event_without_a_patient() -> None:
    (event,) = _events(ANONYMOUS)
    assert _patients(event) == [] and "subtype" not in event
    assert (event["type"]["code"], event["action"], event["outcome"]) == ("rest", "E", "4")
    assert event["outcomeDesc"] == "HTTP 401; not authenticated: the bearer token has expired"
    recipient = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "code": "IRCP",
        "display": "information recipient",
    }
    assert _user(event) == {"type": {"coding": [recipient]}, "who": {"display": "anonymous"}, "requestor": True}
    assert "purposeOfEvent" not in event and _profile(event) is None
    assert search_keys(event) == {
        "date": "2026-11-22T12:00:00.000000+00:00",
        "patient": None,
        "agent": None,
        "organization": None,
        "sector": None,
        "client_id": None,
        "entity": None,
        "type": "rest",
        "subtype": None,
        "outcome": "4",
        "purpose": None,
    }


def test_the_public_capability_statement() -> None:
    record = replace(
        ANONYMOUS, caller=Anonymous("no bearer token"), interaction="capabilities", status=200,
        effect=Effect.PERMIT, outcome=AuditOutcome.SUCCESS,
    )  # fmt: skip
    (event,) = _events(record)
    assert (event["subtype"][0]["code"], event["action"], event["outcome"]) == ("capabilities", "R", "0")
    assert _profile(event) is None and event["outcomeDesc"] == "HTTP 200; not authenticated: no bearer token"


@pytest.mark.parametrize(
    ("interaction", "status", "action", "user", "client", "gateway", "profile"),
    [
        ("create", 201, "C", "AUT", "110153", "110152", "PatientCreate"),
        ("update", 200, "U", "AUT", "110153", "110152", "PatientUpdate"),
        ("patch", 200, "U", "AUT", "110153", "110152", "PatientUpdate"),
        ("delete", 200, "D", "AUT", "110150", "custodian", "PatientDelete"),
    ],
)
def test_writes(interaction: str, status: int, action: str, user: str, client: str, gateway: str, profile: str) -> None:
    record = replace(READ, method="PUT", interaction=interaction, status=status)
    rest = _events(record)[0]
    assert (rest["subtype"][0]["code"], rest["action"], _profile(rest)) == (interaction, action, BALP + profile)
    assert _user(rest)["type"]["coding"][0]["code"] == user  # BALP DataSources: no IRCP for writes
    assert (_agent_code(rest, "client"), _agent_code(rest, "gateway")) == (client, gateway)
    assert search_keys(rest)["subtype"] == interaction


def test_a_refused_create_names_the_type_it_tried() -> None:
    record = replace(DENIED_READ, method="POST", interaction="create", resource_id=None)
    rest = _events(record)[0]
    tried = rest["entity"][1]
    assert tried["what"] == {"type": "CarePlan"} and (tried["type"]["code"], tried["role"]["code"]) == ("2", "4")
    assert search_keys(rest)["entity"] is None


def test_a_transaction() -> None:
    record = replace(
        READ, method="POST", path="/fhir", interaction="transaction", resource_type=None, resource_id=None,
        patients=(ANNA, BERT), disclosed=(), reasons=(READS_PLAN,),
    )  # fmt: skip
    events = _events(record)
    rest = [event for event in events if event["type"]["code"] == "rest"]
    assert [_patients(event) for event in rest] == [[ANNA], [BERT]]
    for event in rest:
        assert (event["subtype"][0]["code"], event["action"], _profile(event)) == ("transaction", "E", None)
        assert _user(event)["type"]["coding"][0]["code"] == "AUT"
    assert len(events) == 4


def test_an_instance_history_records_its_query() -> None:
    record = replace(READ, path="/fhir/CarePlan/demo-plan/_history", query="_count=5", interaction="history")
    rest = _events(record)[0]
    assert (rest["subtype"][0]["code"], rest["action"], _profile(rest)) == ("history-instance", "R", None)
    (query,) = [e for e in rest["entity"] if e.get("role", {}).get("code") == "24"]
    assert base64.b64decode(query["query"]) == b"/fhir/CarePlan/demo-plan/_history?_count=5"


@pytest.mark.parametrize(("status", "outcome"), [(400, "8"), (404, "8"), (500, "12"), (502, "12")])
def test_failures(status: int, outcome: str) -> None:
    """A failure is not an access decision: Served.failed sets DENY, but no reasons, no AuthZ event."""
    record = replace(READ, effect=Effect.DENY, reasons=(), status=status, outcome=AuditOutcome.FAILED, disclosed=())
    (rest,) = _events(record)
    assert (rest["outcome"], rest["outcomeDesc"], _profile(rest)) == (outcome, f"HTTP {status}", None)
    assert search_keys(rest)["outcome"] == outcome


def test_a_refusal_without_reasons_is_still_a_decision() -> None:
    record = replace(DENIED_READ, reasons=())
    rest, authz = _events(record)
    assert (rest["outcome"], authz["outcome"], authz["outcomeDesc"]) == ("4", "4", "deny")


def test_recorded_is_utc_of_fixed_width_and_must_be_aware() -> None:
    """Fixed width in UTC, so that the recorded times sort as text in time order."""
    helsinki = AT.astimezone(timezone(timedelta(hours=2)))
    assert _events(replace(READ, recorded_at=helsinki))[0]["recorded"] == "2026-11-22T12:00:00.000000+00:00"
    later = _events(replace(READ, recorded_at=AT + timedelta(microseconds=5)))[0]["recorded"]
    assert later == "2026-11-22T12:00:00.000005+00:00" > _events(READ)[0]["recorded"]
    with pytest.raises(ValueError, match="timezone-aware"):
        events_of(replace(READ, recorded_at=AT.replace(tzinfo=None)), server=SERVER)


def test_storing_events_leaves_them_as_they_were(tmp_path: Path) -> None:
    """Events share constant codings (read-only); the store adds its id to a copy."""
    events = events_of(READ, server=SERVER)
    before = json.dumps(events, sort_keys=True)
    store = AuditStore.sqlite(tmp_path / "audit.sqlite")
    stored = store.append(events)
    store.close()
    assert json.dumps(events, sort_keys=True) == before and "id" not in events[0]
    assert json.loads(stored[0].event)["id"] == "1"
    assert events_of(READ, server=SERVER) == events


def test_no_client_address_no_profile_claim() -> None:
    """BALP's REST profiles require the client's network address."""
    rest = _events(replace(READ, source_address=None))[0]
    assert _profile(rest) is None
    client = [a for a in rest["agent"] if a["who"].get("identifier", {}).get("system") == CLIENT_ID_SYSTEM]
    assert len(client) == 1 and "network" not in client[0]


def test_a_login_and_a_logout_are_user_authentication_events() -> None:
    citizen = Caller.of(CitizenPrincipal("yhteys-gateway", ANNA, ANNA, "client", "session-s1", 0, 1))
    for interaction, code in (("login-callback", "110122"), ("logout", "110123")):
        record = replace(
            READ, caller=citizen, interaction=interaction, resource_type=None, resource_id=None,
            path="/login/callback", query="", patients=(), disclosed=(), reasons=(),
        )  # fmt: skip
        (event,) = _events(record)
        assert event["type"] == {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110114",
                                 "display": "User Authentication"}  # fmt: skip
        assert [s["code"] for s in event["subtype"]] == [code]
        user = _user(event)
        assert user["who"] == {"reference": ANNA} and user["purposeOfUse"][0]["coding"][0]["code"] == "PATRQT"
        assert not _by_type(event, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "agent")
        assert search_keys(event)["type"] == "110114"
