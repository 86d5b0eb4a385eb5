"""The client changes what is hers, in real Chromium: she withdraws and gives her consent, and the
organisation's very next request is decided on it; she adds and edits her goals in her own words,
and no goal of anyone else's.

A private copy of the demo client (her own henkilötunnus) gets a Keycloak account of her own, so
her changes touch nobody else's data. The youth services (outside the county: they need her
consent) read her plan; she withdraws their consent on her page; their next read is refused;
she gives it again and they read again. A form without her session's CSRF token changes
nothing. Her change is in the audit trail with her as the user.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page

from auth.config import TOKEN_PATH
from gateway.demo.clients import demo_token
from gateway.fhir.hetu import hetu_check_character
from gateway.fhir.systems import HETU_SYSTEM, RESTRICTION_PARENT, RESTRICTION_PARENT_SYSTEM
from gateway.settings import Settings
from tests.e2e.browser import browser as browser  # the shared fixture
from tests.e2e.conftest import Provider
from tests.e2e.gateway_harness import Client, copy_demo_client, fresh_hetu
from tests.e2e.login_harness import audit_events, log_in_person, serious_violations
from tests.e2e.login_harness import context as context  # the fixtures
from tests.e2e.login_harness import site as site

YOUTH = "Organization/demo-org-youth-services"
FHIR = {"Content-Type": "application/fhir+json"}


def youth_reads_her_plan(site: Settings, client: Client) -> int:
    token = demo_token(site.gateway_dir, f"{site.gateway_origin}{TOKEN_PATH}", "youth-system")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    return httpx.get(f"{site.gateway_origin}/fhir/{client.ref('plan')}", headers=headers, timeout=60).status_code


def log_in_as(
    page: Page, site: Settings, provider: Provider, client: Client, path: str = "/me/consents", hetu: str = ""
) -> None:
    """Log in as the copy's own person, or the person of `hetu`, and open `path` in English."""
    log_in_person(page, site, provider, hetu or client.hetu, path)


def test_a_withdrawal_applies_to_the_next_request_and_a_new_consent_too(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    assert youth_reads_her_plan(site, client) == 200
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    assert page.locator("h1").inner_text() == "My consents"
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 1
    assert serious_violations(page) == []

    page.click(f"table.shared tr[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=withdraw")
    assert page.locator(".done").inner_text() == "The consent is withdrawn."
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 0
    assert youth_reads_her_plan(site, client) != 200  # their very next request

    page.click(f"ul.offered li[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=grant")
    assert page.locator(f"table.shared tr[data-organization='{YOUTH}']").count() == 1
    assert youth_reads_her_plan(site, client) == 200
    assert serious_violations(page) == []


def test_a_consent_form_without_her_csrf_token_changes_nothing(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    forms: list[dict[str, str | float | bool]] = [
        {"action": "withdraw", "organization": YOUTH, "csrf": "forged"},
        {"action": "withdraw", "organization": YOUTH},
    ]
    for form in forms:
        answer = page.request.post(f"{site.gateway_origin}/me/consents", form=form, max_redirects=0)
        assert answer.status == 403
    assert youth_reads_her_plan(site, client) == 200
    events = audit_events(site, client.ref("client"))
    refused = [
        e
        for e in events
        if e.get("outcome") == "4"
        and any(a.get("requestor") and a["who"].get("reference") == client.ref("client") for a in e["agent"])
    ]
    assert len(refused) >= 2, "each forged form is recorded as refused, with her as the user"


def test_her_withdrawal_is_recorded_with_her_as_the_user(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client
) -> None:
    page = context.new_page()
    log_in_as(page, site, identity_provider, client)
    page.click(f"table.shared tr[data-organization='{YOUTH}'] button")
    page.wait_for_url("**/me/consents?lang=en&done=withdraw")
    events = audit_events(site, client.ref("client"))
    intended = [e for e in events if "outcome" not in e and f"PUT {client.ref('consent')}" in e.get("outcomeDesc", "")]
    assert intended, "the write was recorded before it was sent"
    user = next(a for a in intended[0]["agent"] if a.get("requestor"))
    assert user["who"]["reference"] == client.ref("client")


def her_goals(fhir: httpx.Client, client: Client) -> dict[str, dict[str, Any]]:
    bundle = fhir.get("/Goal", params={"subject": client.ref("client"), "_count": "100"}).json()
    return {e["resource"]["id"]: e["resource"] for e in bundle.get("entry", [])}


def test_she_adds_and_edits_her_own_goal(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client, fhir: httpx.Client
) -> None:
    before = her_goals(fhir, client)
    page = context.new_page()
    log_in_as(page, site, identity_provider, client, "/me/plan")
    page.fill("#new-goal", "Haluan oppia ajamaan mopoa.")
    page.click("form.new-goal button")
    page.wait_for_url("**/me/plan?lang=en&done=goal*")
    assert page.locator(".done").inner_text() == "The goal is saved."
    added = {k: v for k, v in her_goals(fhir, client).items() if k not in before}
    assert len(added) == 1
    goal = next(iter(added.values()))
    assert goal["expressedBy"] == {"reference": client.ref("client")} and goal["lifecycleStatus"] == "proposed"
    assert serious_violations(page) == []

    card = page.locator(".goal", has_text="Haluan oppia ajamaan mopoa.")
    card.locator("summary").click()
    card.locator("textarea").fill("Haluan oppia ajamaan mopoa turvallisesti.")
    card.locator("button").click()
    page.wait_for_url("**/me/plan?lang=en&done=goal*")
    edited = her_goals(fhir, client)[goal["id"]]
    assert edited["description"]["text"] == "Haluan oppia ajamaan mopoa turvallisesti."
    assert edited["meta"]["versionId"] == "2" and edited["lifecycleStatus"] == "proposed"


def test_she_cannot_edit_a_goal_she_did_not_express(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client, fhir: httpx.Client
) -> None:
    theirs = {
        "resourceType": "Goal",
        "meta": {"profile": ["https://yhteys.fi/fhir/StructureDefinition/ClientGoal"]},
        "lifecycleStatus": "active",
        "description": {"text": "The team's goal for her."},
        "subject": {"reference": client.ref("client")},
        "expressedBy": {"reference": "PractitionerRole/demo-role-social-worker"},
    }
    created = fhir.post("/Goal", json=theirs, headers={"Content-Type": "application/fhir+json"})
    assert created.status_code == 201, created.text
    goal_id = created.json()["id"]
    page = context.new_page()
    log_in_as(page, site, identity_provider, client, "/me/plan")
    card = page.locator(".goal", has_text="The team's goal for her.")
    assert card.locator("form").count() == 0  # no edit form for it
    csrf = page.locator("form.new-goal input[name=csrf]").get_attribute("value") or ""
    answer = page.request.post(
        f"{site.gateway_origin}/me/goals", form={"csrf": csrf, "goal": goal_id, "text": "Mine now"}, max_redirects=0
    )
    assert answer.status == 403
    assert her_goals(fhir, client)[goal_id]["description"]["text"] == "The team's goal for her."
    answer = page.request.post(
        f"{site.gateway_origin}/me/goals", form={"csrf": "forged", "text": "A forged goal"}, max_redirects=0
    )
    assert answer.status == 403
    assert not [g for g in her_goals(fhir, client).values() if g["description"]["text"] == "A forged goal"]


def test_a_guardian_acts_for_the_minor_until_her_decision_bars_guardians(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client, fhir: httpx.Client
) -> None:
    minor = fhir.get(f"/{client.ref('client')}").json()
    digits = f"1506{random.randint(12, 13)}{random.randint(900, 999)}"
    minor["identifier"][0]["value"] = f"{digits[:6]}A{digits[6:]}{hetu_check_character(digits)}"
    minor["birthDate"] = f"20{digits[4:6]}-06-15"
    assert fhir.put(f"/{client.ref('client')}", json=minor, headers=FHIR).status_code == 200
    guardian_hetu = fresh_hetu()
    guardian = {
        "resourceType": "RelatedPerson", "active": True, "patient": {"reference": client.ref("client")},
        "identifier": [{"system": HETU_SYSTEM, "value": guardian_hetu}],
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}]}],
    }  # fmt: skip
    assert fhir.post("/RelatedPerson", json=guardian, headers=FHIR).status_code == 201
    page = context.new_page()
    log_in_as(page, site, identity_provider, client, "/me/plan", hetu=guardian_hetu)
    assert page.locator(".plan h2").inner_text() == "Ainon yhteinen asiakassuunnitelma"  # the minor's plan
    assert page.locator(".goal .tag").count() == 0  # none of her goals is the guardian's own

    decision = fhir.get(f"/{client.ref('consent')}").json()
    decision.pop("id"), decision.pop("meta")
    decision["meta"] = {"profile": ["https://yhteys.fi/fhir/StructureDefinition/PlanConsent"]}
    decision["extension"] = [
        {"url": RESTRICTION_PARENT, "valueCoding": {"system": RESTRICTION_PARENT_SYSTEM, "code": "3"}}
    ]
    assert fhir.post("/Consent", json=decision, headers=FHIR).status_code == 201, "the minor forbids disclosure"
    for path in ("/me/plan?lang=en", "/me/report?lang=en", "/me/consents?lang=en"):
        answer = page.goto(f"{site.gateway_origin}{path}")
        assert answer is not None and answer.status == 403, path
        assert "bars guardians" in page.locator(".why").inner_text()


def test_a_young_parent_acts_for_herself_or_for_her_child(
    site: Settings, identity_provider: Provider, context: BrowserContext, client: Client, fhir: httpx.Client
) -> None:
    """One login, two roles: a client herself and a guardian of a minor; she chooses on /me."""
    child = copy_demo_client(fhir)
    minor = fhir.get(f"/{child.ref('client')}").json()
    digits = f"0101{random.randint(20, 24)}{random.randint(900, 999)}"
    minor["identifier"][0]["value"] = f"{digits[:6]}A{digits[6:]}{hetu_check_character(digits)}"
    minor["birthDate"], minor["name"] = f"20{digits[4:6]}-01-01", [{"family": "Kopio", "given": ["Pikku"]}]
    assert fhir.put(f"/{child.ref('client')}", json=minor, headers=FHIR).status_code == 200
    plan = fhir.get(f"/{child.ref('plan')}").json()
    plan["title"] = "Pikkuisen suunnitelma"
    assert fhir.put(f"/{child.ref('plan')}", json=plan, headers=FHIR).status_code == 200
    guardian = {
        "resourceType": "RelatedPerson", "active": True, "patient": {"reference": child.ref("client")},
        "identifier": [{"system": HETU_SYSTEM, "value": client.hetu}],
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "GUARD"}]}],
    }  # fmt: skip
    assert fhir.post("/RelatedPerson", json=guardian, headers=FHIR).status_code == 201
    page = context.new_page()
    log_in_as(page, site, identity_provider, client, "/me")
    choices = page.locator("form.acting-for input[name=choice]")
    assert choices.count() == 2 and choices.first.is_checked()  # herself first
    page.goto(f"{site.gateway_origin}/me/plan?lang=en")
    assert page.locator(".plan h2").inner_text() == "Ainon yhteinen asiakassuunnitelma"
    page.goto(f"{site.gateway_origin}/me?lang=en")
    assert serious_violations(page) == []
    page.locator("form.acting-for input[name=choice]").nth(1).check()
    page.click("form.acting-for button")
    page.wait_for_url("**/me?lang=en")
    page.goto(f"{site.gateway_origin}/me/plan?lang=en")
    assert page.locator(".plan h2").inner_text() == "Pikkuisen suunnitelma"
    forged = page.request.post(
        f"{site.gateway_origin}/me/acting-for", form={"choice": "0", "csrf": "forged"}, max_redirects=0
    )
    assert forged.status == 403
    page.goto(f"{site.gateway_origin}/me/plan?lang=en")
    assert page.locator(".plan h2").inner_text() == "Pikkuisen suunnitelma"  # the forged form changed nothing
