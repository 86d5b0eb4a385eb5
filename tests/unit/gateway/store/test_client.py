"""What of HAPI's OperationOutcomes reaches a client."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import Unexpected
from gateway.store.client import Upstream, sanitize_outcome

_NOWHERE = "http://127.0.0.1:9/fhir"  # nothing listens: a request that left would be UpstreamUnavailable


@pytest.mark.parametrize(
    "path", ["Consent/.", "Consent/..", "Consent/./x", "../_history", "Consent/a%2fb", "Consent//x"]
)
def test_a_path_the_gateway_did_not_check_is_never_sent(path: str) -> None:
    with pytest.raises(Unexpected):
        asyncio.run(Upstream(_NOWHERE).send("GET", path))


def test_issue_fields_are_kept_and_markers_dropped() -> None:
    hapi = {
        "resourceType": "OperationOutcome",
        "id": "x",
        "meta": {"versionId": "1"},
        "issue": [
            {
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line", "valueInteger": 1}
                ],
                "severity": "error",
                "code": "processing",
                "details": {"coding": [{"system": "http://hl7.org/fhir/java-core-messageId", "code": "X"}]},
                "diagnostics": "CarePlan.subject: minimum required = 1",
                "location": ["CarePlan"],
                "expression": ["CarePlan"],
            }
        ],
    }
    assert sanitize_outcome(hapi) == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "processing",
                "details": {"coding": [{"system": "http://hl7.org/fhir/java-core-messageId", "code": "X"}]},
                "diagnostics": "CarePlan.subject: minimum required = 1",
                "location": ["CarePlan"],
                "expression": ["CarePlan"],
            }
        ],
    }


def test_anything_else_becomes_a_generic_outcome() -> None:
    for body in ({"resourceType": "Patient"}, {"resourceType": "OperationOutcome", "issue": []}, {}):
        outcome = sanitize_outcome(body)
        assert outcome["resourceType"] == "OperationOutcome"
        assert [i["code"] for i in outcome["issue"]] == ["processing"]
