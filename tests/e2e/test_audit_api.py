"""The auditors' FHIR search and the client's access report, over real HTTP through the served
gateway (tokens from its token endpoint): auditors only, and every reading of the trail is itself
in the trail."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from auth.config import TOKEN_PATH
from gateway.demo.clients import demo_token
from gateway.settings import Settings

CLIENT = "Patient/demo-client"


def _token(settings: Settings, system: str, **kwargs: str) -> str:
    return demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", system, **kwargs)


def _get(settings: Settings, token: str, path: str, **params: str | list[str]) -> httpx.Response:
    return httpx.get(
        f"{settings.gateway_origin}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _events(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def _traffic(settings: Settings) -> None:
    """A read, a refused read and a break-the-glass read of the demo client's data."""
    youth = _token(settings, "youth-system")
    assert _get(settings, youth, "/fhir/CarePlan/demo-plan").status_code == 200
    assert _get(settings, youth, "/fhir/Goal/demo-goal-wellbeing").status_code == 404
    btg = _token(settings, "school-welfare-system", purpose="BTG", btg_reason="acute crisis at school")
    assert _get(settings, btg, "/fhir/Goal/demo-goal-wellbeing").status_code == 200


def test_auditors_search_the_trail_as_fhir(served: Settings) -> None:
    _traffic(served)
    auditor = _token(served, "audit-console")
    everything = _get(served, auditor, "/audit/AuditEvent", patient=CLIENT, _count="500")
    assert everything.status_code == 200, everything.text
    assert everything.headers["content-type"].startswith("application/fhir+json")
    assert everything.headers["cache-control"] == "no-store"
    bundle = everything.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    events = _events(bundle)
    assert events and all(e["resourceType"] == "AuditEvent" for e in events)
    assert all(any(x["what"].get("reference") == CLIENT for x in e["entity"]) for e in events)
    refused = _events(_get(served, auditor, "/audit/AuditEvent", patient=CLIENT, outcome="4").json())
    assert refused and all(e["outcome"] == "4" for e in refused)
    btg = _events(_get(served, auditor, "/audit/AuditEvent", patient=CLIENT, purpose="BTG", subtype="read").json())
    assert btg and all(e["purposeOfEvent"][0]["coding"][0]["code"] == "BTG" for e in btg)
    youth = _get(served, auditor, "/audit/AuditEvent", agent="PractitionerRole/demo-role-youth-worker").json()
    assert {e["outcome"] for e in _events(youth)} >= {"0", "4"}
    today = events[0]["recorded"][:10]
    assert _events(_get(served, auditor, "/audit/AuditEvent", patient=CLIENT, date=[f"ge{today}", f"le{today}"]).json())
    assert _events(_get(served, auditor, "/audit/AuditEvent", patient=CLIENT, date="lt2000-01-01").json()) == []
    bad = _get(served, auditor, "/audit/AuditEvent", _has="x")
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    helsinki = datetime.fromisoformat(events[0]["recorded"]).astimezone(ZoneInfo("Europe/Helsinki")).date()
    local = _get(served, auditor, "/audit/AuditEvent", patient=CLIENT, from_date=str(helsinki), to_date=str(helsinki))
    assert local.status_code == 200 and _events(local.json())
    assert _get(served, auditor, "/audit/AuditEvent", patient=CLIENT, to_date="2026-01-01").json()["total"] == 0


def test_the_search_pages_through_every_event_by_its_links(served: Settings) -> None:
    _traffic(served)
    auditor = _token(served, "audit-console")
    page = _get(served, auditor, "/audit/AuditEvent", patient=CLIENT, _count="3").json()
    total, seen = page["total"], [e["id"] for e in _events(page)]
    assert total > 3 and len(seen) == 3
    assert [link["relation"] for link in page["link"]] == ["self", "next"]
    while next_url := next((link["url"] for link in page["link"] if link["relation"] == "next"), None):
        assert next_url.startswith(f"{served.gateway_origin}/audit/AuditEvent?")
        _traffic(served)  # new events between the pages: they shift nothing
        answer = httpx.get(next_url, headers={"Authorization": f"Bearer {auditor}"}, timeout=60)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert any(link["relation"] == "previous" for link in page["link"])
        seen += [e["id"] for e in _events(page)]
    assert len(seen) == total and len(set(seen)) == total  # every event once
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)


def test_only_auditors_read_the_trail_and_every_reading_is_recorded(served: Settings) -> None:
    clinician = _token(served, "psychiatry-ehr")
    refused = _get(served, clinician, "/audit/AuditEvent", patient=CLIENT)
    assert refused.status_code == 403 and "auditor" in refused.text.lower()
    assert _get(served, "not-a-token", "/audit/AuditEvent").status_code == 401
    auditor = _token(served, "audit-console")
    readings = _events(
        _get(served, auditor, "/audit/AuditEvent", agent="PractitionerRole/demo-role-psych-nurse", outcome="4").json()
    )
    queries = [
        base64.b64decode(entity["query"]).decode()
        for event in readings
        for entity in event["entity"]
        if "query" in entity
    ]
    assert any(query.startswith("/audit/AuditEvent") for query in queries)  # the refused reading, recorded
    assert _get(served, auditor, "/fhir/CarePlan/demo-plan").status_code == 403  # no clinical access


def test_the_clients_access_report_is_a_fhir_bundle(served: Settings) -> None:
    _traffic(served)
    auditor = _token(served, "audit-console")
    report = _get(served, auditor, f"/audit/report/{CLIENT}")
    assert report.status_code == 200 and report.headers["content-type"].startswith("application/fhir+json")
    events = _events(report.json())
    assert report.json()["type"] == "collection" and events
    assert all(any(x["what"].get("reference") == CLIENT for x in e["entity"]) for e in events)
    organizations = {a["who"].get("reference") for e in events for a in e["agent"]}
    assert "Organization/demo-org-youth-services" in organizations
    page = _get(served, auditor, f"/audit/report/{CLIENT}", _format="html", lang="sv")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="sv"' in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    assert _get(served, auditor, f"/audit/report/{CLIENT}", lang="de").status_code == 400
    first = _get(served, auditor, f"/audit/report/{CLIENT}", _count="1").json()
    (older,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = httpx.get(older, headers={"Authorization": f"Bearer {auditor}"}, timeout=60).json()
    assert int(_events(second)[0]["id"]) < int(_events(first)[0]["id"])
