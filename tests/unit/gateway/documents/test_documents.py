"""A plan document composed from what its recipient sees, and the document rules it must keep."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gateway.documents.compose import DocumentRequest, compose, consent_lines, sector_name
from gateway.documents.render import SignatureStatus, render_html
from gateway.documents.structure import closure, document_problems
from gateway.fhir.labels import ETH, PSY, SOC, R
from tests.unit.gateway.documents.demo_documents import POOL, REQUEST, seen


def test_the_document_for_a_recipient_who_sees_everything_is_sound() -> None:
    document = compose(REQUEST, seen(frozenset()))
    assert document_problems(document) == []
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["title"] == "Yhteinen asiakassuunnitelma"
    titles = [s["title"] for s in composition["section"]]
    assert titles[:2] == ["Asiakas", "Tavoitteet"] and titles[-3:] == [
        "Omatiimi",
        "Omatyöntekijä",
        "Voimassa olevat suostumukset",
    ]
    assert f"Toimenpiteet: {sector_name('hospital-psychiatry', 'fi')}" in titles
    worker = next(s for s in composition["section"] if s["title"] == "Omatyöntekijä")
    assert (
        worker["entry"] == [{"reference": "PractitionerRole/demo-role-social-worker"}]
        and "Minna Korhonen" in worker["text"]["div"]
    )


def test_the_youth_workers_document_holds_no_psy_part_and_says_nothing_of_it() -> None:
    everything = compose(REQUEST, seen(frozenset()))
    youth = compose(REQUEST, seen(frozenset({PSY, ETH, SOC, R})))
    assert document_problems(youth) == []
    text = json.dumps(youth, ensure_ascii=False)
    assert "PSY" not in text and "psych" not in text.lower() and "psyk" not in text.lower()
    assert "Condition/demo-need-anxiety" not in text and "Goal/demo-goal-wellbeing" not in text
    assert len(youth["entry"]) < len(everything["entry"])


def test_swedish_on_request_and_a_new_version_replaces_the_old() -> None:
    second = compose(
        DocumentRequest(**{**REQUEST.__dict__, "language": "sv", "version": 2, "replaces": REQUEST.identifier}),
        seen(frozenset()),
    )
    composition = second["entry"][0]["resource"]
    assert composition["title"] == "Gemensam klientplan" and composition["language"] == "sv"
    assert composition["relatesTo"] == [
        {"code": "replaces", "targetIdentifier": {"system": "urn:ietf:rfc:3986", "value": REQUEST.identifier}}
    ]
    assert f"Åtgärder: {sector_name('school-welfare', 'sv')}" in [s["title"] for s in composition["section"]]


def _broken(change: Any) -> list[str]:
    document = copy.deepcopy(compose(REQUEST, seen(frozenset())))
    change(document)
    return document_problems(document)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("identifier"), "bdl-9"),
        (lambda d: d.pop("timestamp"), "bdl-10"),
        (lambda d: d["entry"].reverse(), "bdl-11"),
        (lambda d: d["entry"][1].pop("fullUrl"), "has no fullUrl"),
        (lambda d: d["entry"][2].update(fullUrl=d["entry"][1]["fullUrl"]), "bdl-7"),
        (lambda d: d["entry"][1].update(search={"mode": "match"}), "search is not allowed"),
        (lambda d: d["entry"].pop(1), "does not resolve inside the document"),
        (
            lambda d: d["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Basic", "id": "x"}}),
            "is not referenced from the Composition",
        ),
        (lambda d: d.update(type="collection"), "not a Bundle of type document"),
    ],
)
def test_a_broken_document_is_named(change: Any, words: str) -> None:
    problems = _broken(change)
    assert any(words in p for p in problems), problems


def test_closure_names_what_it_cannot_find() -> None:
    _, missing = closure(
        {"CarePlan/p": {"resourceType": "CarePlan", "subject": {"reference": "Patient/x"}}}, ["CarePlan/p"]
    )
    assert missing == ["Patient/x"]


def test_the_page_shows_the_signature_status_the_issuer_and_only_text() -> None:
    document = compose(REQUEST, seen(frozenset()))
    document["entry"][0]["resource"]["section"][0]["text"]["div"] = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><ul><li>Aino <script>alert(1)</script><b>Virtanen</b></li></ul></div>'
    )
    page = render_html(document, SignatureStatus(True, "Demo sosiaalitoimi"))
    assert "Allekirjoitus on kelvollinen: allekirjoittaja Demo sosiaalitoimi." in page
    assert "<script>" not in page and "alert(1)" in page  # foreign markup reaches the page only as escaped text
    assert "Yhteinen asiakassuunnitelma" in page and "Omatyöntekijä" in page
    client = render_html(document, SignatureStatus(False, "the certificate is revoked"), "client", "sv")
    assert "Din plan" in client and "Signaturen är INTE giltig: the certificate is revoked" in client
    assert 'class="signature signature-invalid"' in client


def test_another_organisations_document_by_urn_uuid_shows_its_issuer_date_and_version() -> None:
    document: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [
            {
                "fullUrl": "urn:uuid:c0",
                "resource": {
                    "resourceType": "Composition",
                    "id": "kanta-plan",
                    "date": "2026-12-03",
                    "title": "Palvelusuunnitelma",
                    "author": [{"reference": "urn:uuid:p1"}, {"reference": "urn:uuid:o1"}],
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber",
                            "valueString": "3",
                        }
                    ],
                },
            },
            {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Organization", "name": "Toinen kunta"}},
            {
                "fullUrl": "urn:uuid:p1",
                "resource": {"resourceType": "Practitioner", "name": [{"given": ["Liisa"], "family": "Laine"}]},
            },
        ],
    }
    page = render_html(document, SignatureStatus(True, "Toinen kunta"), language="de")
    assert '<html lang="fi">' in page  # the page's language is that of its words
    assert "<dd>Liisa Laine, Toinen kunta</dd>" in page and "urn:uuid" not in page
    assert ">03.12.2026</time>" in page  # a date, not a time of day in this machine's zone
    assert "<dd>3</dd>" in page and "kanta-plan" not in page
    document["entry"][0]["resource"].pop("extension")
    document["entry"][0]["resource"]["author"] = [{"reference": "Organization/gone", "display": "Kolmas kunta"}]
    page = render_html(document, SignatureStatus(True, "Toinen kunta"))
    assert "<dd>Kolmas kunta</dd>" in page and "<dd>?</dd>" in page


def test_a_document_assembled_before_its_composition_was_written_is_refused() -> None:
    bundle = compose(REQUEST, seen(frozenset()))
    assert document_problems(bundle) == []
    bundle["timestamp"] = "2026-12-03T11:59:59+02:00"  # a second before Composition.date
    assert document_problems(bundle) == [
        "Bundle.timestamp is before Composition.date: a document is assembled after it is written"
    ]


def test_the_consent_lines_tell_a_recipient_only_what_the_consents_permit_it() -> None:
    consent = copy.deepcopy(POOL["Consent/demo-consent"])
    psychiatry = {"type": "permit", "actor": [{"reference": {"reference": "Organization/demo-org-psychiatry"}}]}
    consent["provision"]["provision"].append({**psychiatry, "securityLabel": [{"code": "SOC"}]})
    youth = "Organization/demo-org-youth-services"
    [line] = consent_lines([consent], {youth: "Demo kaupunki, nuorisopalvelut"}, "fi", youth)
    assert line == (
        "Suostumus 2026-09-01: Demo kaupunki, nuorisopalvelut saa tiedot (suunnitelma, tavoitteet, omatiimi) "
        "tarkoitukseen hoito ja palvelu, palvelujen yhteensovittaminen; voimassa 2026-09-01–2027-08-31."
    )
    assert "psykiatr" not in line and "PSY" not in line  # neither the other permit nor the refusal is told
    [swedish] = consent_lines([consent], {}, "sv", youth)
    assert swedish.startswith("Samtycke 2026-09-01: Organization/demo-org-youth-services får uppgifterna (planen")
    assert consent_lines([consent], {}, "fi", "Organization/demo-org-school-welfare") == []
