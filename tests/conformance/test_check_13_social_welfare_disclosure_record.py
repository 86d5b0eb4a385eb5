"""Conformance check 13 (STANDARDS.md): "A social-welfare disclosure produces a disclosure
(luovutusilmoitus) record."

On a private copy of the demo client, the plan's child-protection activity is labelled SOC and the
client's consent lets the psychiatry organisation have it (social → health). The personal worker
(child protection) issues plan documents through the in-process gateway: the one for the school
welfare holds no social welfare information and leaves only its disclosure event (DCM#110106
Export); the one for psychiatry carries the SOC activity to another organisation, and the trail
then holds the disclosure notice too, naming the client, the recipient organisation, the
document and the purpose. A document refused (403) leaves neither.
"""

from __future__ import annotations

import httpx

from tests.e2e.documents_harness import disclosures, issue_document, share_social_welfare
from tests.e2e.gateway_harness import Client, Gateway

SCHOOL = "Organization/demo-org-school-welfare"
PSYCHIATRY = "Organization/demo-org-psychiatry"
YOUTH = "Organization/demo-org-youth-services"


def test_social_welfare_information_sent_to_another_organisation_leaves_a_disclosure_notice(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    share_social_welfare(fhir, client, PSYCHIATRY)
    assert issue_document(call, client.ref("plan"), SCHOOL).status_code == 200
    assert [e["type"]["code"] for e in disclosures(call)] == ["110106"]  # no SOC for the school welfare
    document = issue_document(call, client.ref("plan"), PSYCHIATRY)
    assert document.status_code == 200
    notice = disclosures(call)[-1]
    assert notice["type"] == {
        "system": "https://yhteys.fi/fhir/CodeSystem/audit-event-type",
        "code": "social-welfare-disclosure",
        "display": "Social welfare disclosure notice",
    }
    assert notice["outcome"] == "0" and notice["purposeOfEvent"][0]["coding"][0]["code"] == "CAREMGT"
    recipients = [a["who"] for a in notice["agent"] if a["type"]["coding"][0]["code"] == "110152"]
    assert recipients == [
        {
            "reference": PSYCHIATRY,
            "identifier": {"system": "urn:oid:1.2.246.537.6.202", "value": "1.2.246.10.99990003.10.0"},
        }
    ]
    whats = [entity["what"] for entity in notice["entity"]]
    assert {"reference": client.ref("client")} in whats
    assert {"system": "urn:ietf:rfc:3986", "value": document.json()["identifier"]["value"]} in [
        w.get("identifier") for w in whats
    ]
    assert issue_document(call, client.ref("plan"), YOUTH).status_code == 403
    assert len(disclosures(call)) == 3  # the refused document disclosed nothing
