"""Signed plan documents through the gateway on the session's HAPI: issue, verify, re-issue, receive, audit.

Each test works on its own copy of the demo client (`client`). The personal worker (the
aftercare social worker of child protection) issues documents of the plan for another
organisation with `POST CarePlan/<id>/$document`; what is stored is read back straight from HAPI
(`fhir`); `$verify-document` and `$receive-document` are called through the gateway. The demo
PKI (`gateway.demo.pki`) is the trust store of the test's gateway; forged documents are signed
with keys made here (another CA, an expired certificate, a revoked one).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.demo.clients import DEMO_CLIENTS
from gateway.demo.pki import demo_ca, revoke_demo
from gateway.documents.structure import document_problems
from gateway.fhir.hetu import hetu_check_character
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import (
    DOCUMENT_PURPOSE,
    DOCUMENT_RECIPIENT,
    DOCUMENT_VERSION,
)
from gateway.settings import Settings
from gateway.signing.bundle import canonical, sign_bundle
from gateway.signing.pki import KeyRing, SigningKey, issue, new_ca
from gateway.store.hapi import HapiServer
from tests.e2e.documents_harness import (
    disclosures,
    documents_of,
    issue_document,
    put_on_store,
    receive_document,
    verify_document,
)
from tests.e2e.gateway_harness import CURATOR, SOCIAL_WORKER, Client, Gateway, token

ISSUER = "Organization/demo-org-social-welfare"
SCHOOL = "Organization/demo-org-school-welfare"
YOUTH = "Organization/demo-org-youth-services"
PSYCHIATRY = "Organization/demo-org-psychiatry"
OID = {c.organization: c.organization_oid for c in DEMO_CLIENTS}
PSY_TEXT = "Nuorisopsykiatrian"  # the psychiatric activity's words
PSY_GOAL = "ahdistus"  # the PSY-labelled goal's words


@pytest.fixture
def settings(hapi: HapiServer, tmp_path: Any) -> Settings:
    """The settings the `call` fixture's gateway was built with (its PKI is under them)."""
    return hapi.settings.with_changes(data_dir=tmp_path)


def extension(resource: dict[str, Any], url: str) -> Any:
    return next(e for e in resource["extension"] if e["url"] == url)


def test_the_personal_worker_issues_a_signed_document_that_verifies_and_is_stored_with_its_index(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    answer = issue_document(call, plan, SCHOOL)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["type"] == "document" and document_problems(document) == []
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["author"] == [{"reference": ISSUER}]
    titles = [section["title"] for section in composition["section"]]
    assert titles[:2] == ["Asiakas", "Tavoitteet"] and "Omatiimi" in titles and "Omatyöntekijä" in titles
    assert "Voimassa olevat suostumukset" in titles
    assert document["signature"]["who"]["identifier"]["value"] == OID[ISSUER]
    text = json.dumps(document, ensure_ascii=False)
    assert PSY_TEXT not in text and PSY_GOAL not in text and '"PSY"' not in text  # school welfare sees no PSY

    verified = verify_document(call, document)
    assert verified.status_code == 200 and "the signature is valid" in verified.text
    assert OID[ISSUER] in verified.text

    [index] = documents_of(fhir, plan)
    assert index["status"] == "current" and index["subject"] == {"reference": client.ref("client")}
    assert extension(index, DOCUMENT_RECIPIENT)["valueReference"] == {"reference": SCHOOL}
    assert extension(index, DOCUMENT_PURPOSE)["valueCoding"]["code"] == "CAREMGT"
    assert extension(index, DOCUMENT_VERSION)["valuePositiveInt"] == 1
    assert index["masterIdentifier"]["value"] == document["identifier"]["value"]
    attachment = index["content"][0]["attachment"]
    assert (
        attachment["hash"]
        == base64.b64encode(hashlib.sha1(canonical(document), usedforsecurity=False).digest()).decode()
    )
    stored = fhir.get(f"/{attachment['url']}").json()
    assert canonical(stored) == canonical(document)  # HAPI keeps the signed content byte for byte
    assert verify_document(call, stored).status_code == 200


def test_a_new_version_replaces_the_previous_one_and_the_chain_can_be_walked(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    first = issue_document(call, plan, SCHOOL).json()
    second_answer = issue_document(call, plan, SCHOOL, language="sv")
    assert second_answer.status_code == 200, second_answer.text
    second = second_answer.json()
    composition = second["entry"][0]["resource"]
    assert composition["language"] == "sv" and composition["title"] == "Gemensam klientplan"
    assert composition["relatesTo"] == [
        {"code": "replaces", "targetIdentifier": {"system": "urn:ietf:rfc:3986", "value": first["identifier"]["value"]}}
    ]
    assert composition["identifier"] == first["entry"][0]["resource"]["identifier"]  # one series
    assert second["identifier"] != first["identifier"]  # each version its own document

    by_id = {d["id"]: d for d in documents_of(fhir, plan)}
    [current] = [d for d in by_id.values() if d["status"] == "current"]
    chain = [current]
    while "relatesTo" in chain[-1]:
        chain.append(by_id[chain[-1]["relatesTo"][0]["target"]["reference"].split("/")[1]])
    assert [extension(d, DOCUMENT_VERSION)["valuePositiveInt"] for d in chain] == [2, 1]
    assert [d["status"] for d in chain] == ["current", "superseded"]
    assert chain[1]["masterIdentifier"]["value"] == first["identifier"]["value"]

    another = issue_document(call, plan, PSYCHIATRY)  # another recipient starts its own series
    assert another.status_code == 200
    assert another.json()["entry"][0]["resource"]["identifier"] != composition["identifier"]


def test_stored_documents_are_not_written_through_the_gateway(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    issue_document(call, client.ref("plan"), SCHOOL)
    [index] = documents_of(fhir, client.ref("plan"))
    for path, resource in ((f"Bundle/{index['id']}", {"resourceType": "Bundle", "id": index["id"], "type": "document"}),
                           (f"DocumentReference/{index['id']}", index)):  # fmt: skip
        version = {"If-Match": 'W/"1"'}
        answer = call("PUT", f"/fhir/{path}", token(SOCIAL_WORKER), json.dumps(resource).encode(), FHIR_JSON, version)
        assert answer.status_code == 403, answer.text  # no rule lets anyone write them
        assert call("DELETE", f"/fhir/{path}", token(SOCIAL_WORKER), headers=version).status_code == 403
    assert fhir.get(f"/DocumentReference/{index['id']}").json()["meta"]["versionId"] == "1"


def test_only_the_personal_worker_issues_and_a_plan_the_caller_cannot_see_is_missing(
    call: Gateway, client: Client
) -> None:
    refused = issue_document(call, client.ref("plan"), SCHOOL, as_member=CURATOR)
    assert refused.status_code == 403 and "personal worker" in refused.text
    missing = issue_document(call, "CarePlan/no-such-plan", SCHOOL)
    assert missing.status_code == 404
    own = issue_document(call, client.ref("plan"), ISSUER)
    assert own.status_code == 422 and "another organisation" in own.text
    assert call("GET", f"/fhir/{client.ref('plan')}/$document", token(SOCIAL_WORKER)).status_code == 405
    assert call("POST", f"/fhir/{client.ref('plan')}/$everything", token(SOCIAL_WORKER)).status_code == 405
    assert issue_document(call, client.ref("plan"), SCHOOL, purpose="BTG").status_code == 400
    assert issue_document(call, client.ref("plan"), SCHOOL, language="de").status_code == 400


def test_the_youth_services_get_no_document_without_the_client_and_no_psy_part_with_her(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    refused = issue_document(call, plan, YOUTH)
    assert refused.status_code == 403 and "Patient" in refused.text
    assert documents_of(fhir, plan) == []

    consent = fhir.get(f"/{client.ref('consent')}").json()
    consent["provision"]["provision"][0]["class"].append(
        {"system": "http://hl7.org/fhir/resource-types", "code": "Patient"}
    )
    put_on_store(fhir, consent)
    answer = issue_document(call, plan, YOUTH)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    text = json.dumps(document, ensure_ascii=False)
    assert PSY_TEXT not in text and PSY_GOAL not in text and "PSY" not in text
    assert "psychiatr" not in text.lower()  # not the team's psychiatric members either
    types = {entry["resource"]["resourceType"] for entry in document["entry"]}
    assert "Condition" not in types  # the consent names the plan, goals, team and now her, not her needs
    plan_entry = next(e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert {"display": "Ei sisälly tähän asiakirjaan"} in plan_entry["addresses"]
    assert "Demo kaupunki, nuorisopalvelut" in json.dumps(document["entry"][0]["resource"]["text"], ensure_ascii=False)
    assert verify_document(call, document).status_code == 200


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda d: d["entry"][0]["resource"]["section"][1].__setitem__("title", "Tavoitteetx"), "canonical form"),
        (lambda d: d["signature"].__setitem__("targetFormat", "application/fhir+json"), "targetFormat"),
        (lambda d: d["signature"].__setitem__("sigFormat", "application/pkcs7-signature"), "sigFormat"),
        (lambda d: d["entry"][1].pop("fullUrl"), "has no fullUrl"),
        (lambda d: d.pop("identifier"), "bdl-9"),
        (lambda d: d.pop("timestamp"), "bdl-10"),
        (lambda d: d["entry"].insert(0, d["entry"].pop(1)), "bdl-11"),
        (lambda d: d["signature"]["who"]["identifier"].__setitem__("value", OID[SCHOOL]), "not of"),
    ],
    ids=[
        "changed-byte",
        "wrong-canonicalisation",
        "wrong-format",
        "no-fullurl",
        "bdl-9",
        "bdl-10",
        "bdl-11",
        "wrong-who",
    ],
)
def test_a_tampered_document_fails_verification_saying_what(
    call: Gateway, client: Client, tamper: Any, reason: str
) -> None:
    document = issue_document(call, client.ref("plan"), SCHOOL).json()
    tampered = copy.deepcopy(document)
    tamper(tampered)
    answer = verify_document(call, tampered)
    assert answer.status_code == 422 and reason in answer.text, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def _resigned(
    document: dict[str, Any], signer: SigningKey, organization: str, oid: str, *, hetu: str = ""
) -> dict[str, Any]:
    """`document` as another organisation's own: a new identifier, signed by `signer` (about the
    client with henkilötunnus `hetu`, if given)."""
    unsigned = copy.deepcopy({key: value for key, value in document.items() if key != "signature"})
    unsigned["identifier"] = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}
    if hetu:
        patient = next(e["resource"] for e in unsigned["entry"] if e["resource"]["resourceType"] == "Patient")
        patient["identifier"][0]["value"] = hetu
    return sign_bundle(unsigned, signer, organization, oid, datetime.now(UTC))


def test_a_document_of_another_organisation_is_received_after_its_checks(
    call: Gateway, fhir: httpx.Client, client: Client, settings: Settings
) -> None:
    plan = client.ref("plan")
    document = issue_document(call, plan, PSYCHIATRY).json()
    [ours] = documents_of(fhir, plan)
    signer = KeyRing(settings.document_keys).current(PSYCHIATRY)
    assert signer is not None
    theirs = _resigned(document, signer, PSYCHIATRY, OID[PSYCHIATRY])
    answer = receive_document(call, plan, theirs)
    assert answer.status_code == 200, answer.text
    assert "stored and linked" in answer.text and OID[PSYCHIATRY] in answer.text
    received = [d for d in documents_of(fhir, plan) if d["id"] != ours["id"]]
    assert len(received) == 1
    assert received[0]["author"] == [{"identifier": {"system": "urn:oid:1.2.246.537.6.202", "value": OID[PSYCHIATRY]}}]
    assert received[0]["context"]["related"] == [{"reference": plan}]
    stored = fhir.get(f"/{received[0]['content'][0]['attachment']['url']}").json()
    assert canonical(stored) == canonical(theirs)
    own = receive_document(call, plan, document)  # our own document is not "received"
    assert own.status_code == 422 and "receiving organisation itself" in own.text


def test_forged_documents_are_refused_with_their_reasons_and_nothing_is_stored(
    call: Gateway, fhir: httpx.Client, client: Client, settings: Settings
) -> None:
    plan = client.ref("plan")
    document = issue_document(call, plan, PSYCHIATRY).json()
    before = len(documents_of(fhir, plan))
    now = datetime.now(UTC)
    foreign = new_ca("Forged CA", now - timedelta(days=1))
    key, certificate = issue(foreign, PSYCHIATRY, OID[PSYCHIATRY], now - timedelta(hours=1))
    expired_key, expired = issue(
        demo_ca(settings), PSYCHIATRY, OID[PSYCHIATRY], now, days=1, not_before=now - timedelta(days=3)
    )
    revoked_key, revoked = issue(demo_ca(settings), PSYCHIATRY, OID[PSYCHIATRY], now - timedelta(hours=1))
    revoke_demo(settings, [revoked.serial_number])
    signer = KeyRing(settings.document_keys).current(PSYCHIATRY)
    assert signer is not None
    altered = _resigned(document, signer, PSYCHIATRY, OID[PSYCHIATRY])
    altered["entry"][0]["resource"]["title"] = "Muutettu"
    other_client = _resigned(
        document, signer, PSYCHIATRY, OID[PSYCHIATRY], hetu="010199-912" + hetu_check_character("010199912")
    )
    forged = {
        "foreign CA": _resigned(document, SigningKey("f1", key, certificate), PSYCHIATRY, OID[PSYCHIATRY]),
        "altered content": altered,
        "expired certificate": _resigned(document, SigningKey("e1", expired_key, expired), PSYCHIATRY, OID[PSYCHIATRY]),
        "revoked certificate": _resigned(document, SigningKey("r1", revoked_key, revoked), PSYCHIATRY, OID[PSYCHIATRY]),
    }
    reasons = {}
    for name, bad in forged.items():
        answer = receive_document(call, plan, bad)
        assert answer.status_code == 422, (name, answer.text)
        reasons[name] = answer.json()["issue"][0]["diagnostics"]
    assert "is not issued by a trusted CA" in reasons["foreign CA"]
    assert "canonical form" in reasons["altered content"]
    assert (
        "certificate of" in reasons["expired certificate"]
        and "is not valid when signed" in reasons["expired certificate"]
    )
    assert "is revoked" in reasons["revoked certificate"]
    other = receive_document(call, plan, other_client)  # a document about another person
    assert other.status_code == 422 and "another client" in other.text
    valid = _resigned(document, signer, PSYCHIATRY, OID[PSYCHIATRY])
    assert receive_document(call, plan, valid).status_code == 200
    again = receive_document(call, plan, valid)  # an identifier is never reused: the same document twice is refused
    assert again.status_code == 422 and "already stored" in again.text
    assert len(documents_of(fhir, plan)) == before + 1


def test_each_disclosure_is_in_the_trail_with_its_recipient_document_and_purpose(
    call: Gateway, fhir: httpx.Client, client: Client
) -> None:
    plan = client.ref("plan")
    school = issue_document(call, plan, SCHOOL).json()
    [export] = disclosures(call)
    agents = {a["type"]["coding"][0]["code"]: a for a in export["agent"]}
    assert agents["110152"]["who"]["reference"] == SCHOOL  # the destination: the recipient organisation
    assert agents["110153"]["who"]["reference"] == ISSUER
    entities = export["entity"]
    assert {"reference": client.ref("client")} in [e["what"] for e in entities]
    assert {"system": "urn:ietf:rfc:3986", "value": school["identifier"]["value"]} in [
        e["what"].get("identifier") for e in entities
    ]
    assert any(e["what"].get("reference", "").startswith(plan) for e in entities)
    assert export["purposeOfEvent"][0]["coding"][0]["code"] == "CAREMGT"

    refused = issue_document(call, plan, YOUTH)  # a refused issue discloses nothing
    assert refused.status_code == 403
    assert len(disclosures(call)) == 1  # the social welfare notice: tests/conformance/test_check_13_*
