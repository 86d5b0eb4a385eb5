"""The gateway as users run it: a real HTTP server, the real token endpoint, the demo systems.

The gateway (`gateway.app.assembly.build_gateway`) listens on a free loopback port in front of the
session's HAPI; tokens come from its token endpoint in exchange for private_key_jwt
assertions signed with the demo systems' own keys, exactly as `yhteys demo token` does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fhirpy import SyncFHIRClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from auth.config import JWKS_PATH, TOKEN_PATH
from auth.keys import load_signing_key
from gateway.audit.balp import search_keys
from gateway.audit.setup import open_store
from gateway.demo.clients import DemoClientError, demo_token
from gateway.settings import Settings


def _token(settings: Settings, system: str, **kwargs: str) -> str:
    return demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", system, **kwargs)


def _read(settings: Settings, token: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{settings.gateway_origin}/fhir/{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        timeout=60.0,
    )


def test_each_system_reads_the_plan_through_the_real_token_endpoint(served: Settings) -> None:
    youth = _read(served, _token(served, "youth-system"), "CarePlan/demo-plan")
    psychiatry = _read(served, _token(served, "psychiatry-ehr"), "CarePlan/demo-plan")
    assert youth.status_code == psychiatry.status_code == 200
    assert len(psychiatry.json()["activity"]) == 4
    assert len(youth.json()["activity"]) == 3


def test_a_system_cannot_act_for_another_organisations_professional(served: Settings) -> None:
    with pytest.raises(DemoClientError, match="invalid_grant"):
        _token(served, "youth-system", practitioner_role="PractitionerRole/demo-role-psych-nurse")


def test_smart_discovery_names_the_token_endpoint(served: Settings) -> None:
    config = httpx.get(f"{served.gateway_origin}/.well-known/smart-configuration", timeout=10).json()
    assert config["token_endpoint"] == f"{served.gateway_origin}{TOKEN_PATH}"
    assert "permission-v2" in config["capabilities"]


def _trail_head(settings: Settings) -> int:
    store = open_store(settings)
    try:
        return store.head()[0]
    finally:
        store.close()


def _rest_events_after(settings: Settings, seq: int) -> list[dict[str, Any]]:
    """The BALP REST events stored after record `seq`, each with its search keys as `_keys`."""
    store = open_store(settings)
    try:
        events = [json.loads(stored.event) for stored in store.events(seq + 1)]
    finally:
        store.close()
    return [{**e, "_keys": search_keys(e)} for e in events if e["type"]["code"] == "rest"]


def test_every_request_lands_in_the_audit_trail(served: Settings) -> None:
    before = _trail_head(served)
    _read(served, "no-token", "CarePlan/demo-plan")
    _read(served, _token(served, "school-welfare-system"), "Goal/demo-goal-wellbeing")
    events = _rest_events_after(served, before)  # the read without a token, the token request, the read
    assert [e["outcome"] for e in events] == ["4", "0", "4"]
    assert "401" in events[0]["outcomeDesc"] and "200" in events[1]["outcomeDesc"] and "404" in events[2]["outcomeDesc"]
    assert events[2]["_keys"]["client_id"] == "school-welfare-system"


def test_an_unmodified_fhir_client_library_reads_and_pages_through_the_gateway(served: Settings) -> None:
    token = _token(served, "school-welfare-system")
    client = SyncFHIRClient(f"{served.gateway_origin}/fhir", authorization=f"Bearer {token}")
    goals = client.resources("Goal").search(subject="Patient/demo-client").limit(1).fetch_all()
    assert sorted(goal.id for goal in goals) == ["demo-goal-home", "demo-goal-studies"]
    plan = client.reference("CarePlan", "demo-plan").to_resource()
    assert len(plan["activity"]) == 3


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def test_forged_altered_and_stale_tokens_are_refused_at_the_fhir_endpoint(served: Settings) -> None:
    good = _token(served, "youth-system")
    header = json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))
    claims = _claims(good)
    real_key = load_signing_key(served.gateway_dir / "signing-key.pem")
    public = httpx.get(f"{served.gateway_origin}{JWKS_PATH}", timeout=10).content
    escalated = {**claims, "scope": "system/*.cruds", "team_roles": ["psychiatric-nurse", "personal-worker"]}
    attacks = {
        "alg none": f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{good.split('.')[1]}.",
        "HS256 keyed with the public JWKS": jwt.encode(
            {"alg": "HS256"}, claims, OctKey.import_key(public), algorithms=["HS256"]
        ),
        "another key under the real kid": jwt.encode(
            {"alg": "ES256", "kid": header["kid"]}, claims, ECKey.generate_key("P-256"), algorithms=["ES256"]
        ),
        "claims altered after signing": f"{good.split('.')[0]}.{_b64(json.dumps(escalated).encode())}.{good.split('.')[2]}",
        "expired": jwt.encode(
            header, {**claims, "iat": claims["iat"] - 900, "exp": claims["exp"] - 900}, real_key, algorithms=["ES256"]
        ),
        "for another audience": jwt.encode(
            header, {**claims, "aud": "https://elsewhere.example/fhir"}, real_key, algorithms=["ES256"]
        ),
    }
    before = _trail_head(served)
    for name, forged in attacks.items():
        response = _read(served, forged, "CarePlan/demo-plan")
        assert response.status_code == 401, name
        assert response.json()["issue"][0]["code"] == "login", name
        assert "activity" not in response.text, name
    events = _rest_events_after(served, before)
    assert [(e["outcome"], "401" in e["outcomeDesc"]) for e in events] == [("4", True)] * len(attacks)
    assert _read(served, good, "CarePlan/demo-plan").status_code == 200  # the real one still works
