"""A request refused before anything is read is recorded with the client it names (issue 12, item 3).

Through the in-process gateway on the session's HAPI: the youth worker's search of the client's
needs (`Condition?subject=Patient/...`, no rule lets youth services read needs), the auditor's read
of the client's own record (auditors have no clinical access) and the curator's create of a need
naming the client (no rule lets school welfare record needs) are each refused with 403 before the
store is asked anything, and each one's REST event in the trail carries the client as its BALP
patient entity, so the refusal is among her events (and in her access report). A refusal that
names nobody stays without a client.
"""

from __future__ import annotations

import json

from gateway.fhir.codes import Sector
from gateway.fhir.media import FHIR_JSON
from tests.e2e.gateway_harness import CURATOR, YOUTH_WORKER, Client, Gateway, Member, token

AUDITOR = Member(
    "audit-console",
    "Organization/demo-org-social-welfare",
    Sector.SOCIAL_WELFARE,
    "PractitionerRole/demo-role-auditor",
    "auditor",
)


def test_a_refused_search_read_and_write_are_recorded_with_the_client_they_name(call: Gateway, client: Client) -> None:
    patient = client.ref("client")
    need = {
        "resourceType": "Condition",
        "subject": {"reference": patient},
        "code": {"text": "koulunkäynnin tuen tarve"},
    }
    refusals = [
        call("GET", f"/fhir/Condition?subject={patient}", token(YOUTH_WORKER)),
        call("GET", f"/fhir/{patient}", token(AUDITOR, ("system/Patient.rs",))),
        call("POST", "/fhir/Condition", token(CURATOR), json.dumps(need).encode(), FHIR_JSON),
    ]
    assert [answer.status_code for answer in refusals] == [403, 403, 403], [a.text for a in refusals]
    events = [e for e in call.rest_events() if e["outcome"] == "4"]
    assert len(events) == 3
    assert [e["_keys"]["patient"] for e in events] == [patient, patient, patient]
    assert [e["action"] for e in events] == ["E", "R", "C"]
    report = call("GET", f"/audit/report/{patient}", token(AUDITOR, ("system/AuditEvent.rs",)))
    assert report.status_code == 200, report.text
    refused = [
        e["resource"]
        for e in report.json()["entry"]
        if e["resource"]["type"]["code"] == "rest" and e["resource"]["outcome"] == "4"
    ]
    assert len(refused) == 3  # the client's report shows the three refused attempts


def test_a_refusal_that_names_no_client_has_none(call: Gateway) -> None:
    answer = call("GET", "/fhir/Condition?code=xyz", token(YOUTH_WORKER))
    assert answer.status_code == 403
    [event] = [e for e in call.rest_events() if e["outcome"] == "4"]
    assert event["_keys"]["patient"] is None
