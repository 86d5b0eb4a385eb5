"""What of HAPI's OperationOutcomes reaches a client."""

from __future__ import annotations

from gateway.store.client import sanitize_outcome


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
