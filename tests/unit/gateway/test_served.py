"""One served request becomes the same answer as an HTTP response and as a batch-response entry."""

from __future__ import annotations

import json

from gateway.access.seam import Effect, Reason
from gateway.errors import Forbidden, PreconditionRequired
from gateway.fhir.media import FHIR_JSON
from gateway.served import Served

GOAL = {"resourceType": "Goal", "id": "g1", "meta": {"versionId": "1"}, "lifecycleStatus": "active"}
HEADERS = {
    "location": "https://gateway.example/fhir/Goal/g1/_history/1",
    "etag": 'W/"1"',
    "last-modified": "Thu, 01 Oct 2026 06:00:00 GMT",
}
REASON = Reason("psy-hidden", "https://yhteys.fi/fhir/policy/rule/psy-hidden", "fi", "sv", "en")


def test_a_created_resource_as_an_entry() -> None:
    entry = Served(201, GOAL, HEADERS).as_entry()
    assert entry == {
        "resource": GOAL,
        "response": {
            "status": "201 Created",
            "location": HEADERS["location"],
            "etag": 'W/"1"',
            "lastModified": HEADERS["last-modified"],
        },
    }


def test_only_the_headers_present_go_into_the_entry() -> None:
    assert Served(200, GOAL, {"etag": 'W/"2"', "x-other": "no"}).as_entry()["response"] == {
        "status": "200 OK",
        "etag": 'W/"2"',
    }


def test_a_refusal_as_an_entry_carries_its_outcome_and_no_resource() -> None:
    served = Served.failed(Forbidden("access denied", (REASON,)), ("Patient/demo-client",))
    assert (served.status, served.effect, served.reasons, served.patients) == (
        403,
        Effect.DENY,
        (REASON,),
        ("Patient/demo-client",),
    )
    entry = served.as_entry()
    assert list(entry) == ["response"]
    assert entry["response"]["status"] == "403 Forbidden"
    outcome = entry["response"]["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0] == {"severity": "error", "code": "forbidden", "diagnostics": "access denied"}
    assert REASON.rule in json.dumps(outcome)


def test_a_precondition_failure_as_an_entry() -> None:
    entry = Served.failed(PreconditionRequired("If-Match needed")).as_entry()
    assert entry["response"]["status"] == "428 Precondition Required"
    assert entry["response"]["outcome"]["issue"][0]["code"] == "required"


def test_a_deletion_as_an_entry_has_no_resource() -> None:
    assert Served(204, None).as_entry() == {"response": {"status": "204 No Content"}}


def test_a_response_without_body_is_empty() -> None:
    response = Served(204, None, {"etag": 'W/"2"'}).as_response()
    assert response.status_code == 204
    assert response.body == b""
    assert "content-length" not in response.headers  # RFC 9110: a 204 carries none
    assert response.headers["etag"] == 'W/"2"'


def test_a_response_with_body_is_fhir_json() -> None:
    response = Served(201, GOAL, HEADERS).as_response()
    assert response.status_code == 201
    assert response.headers["content-type"] == FHIR_JSON
    assert json.loads(bytes(response.body)) == GOAL
    assert response.headers["content-length"] == str(len(response.body))
    assert response.headers["location"] == HEADERS["location"]
