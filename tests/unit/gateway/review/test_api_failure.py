"""The audit API records its own failures: an unexpected error answers 500 and is in the trail."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from auth.principal import TokenVerifier
from gateway.access.policy import load_policy
from gateway.app.frame import AuditedFrame
from gateway.audit.chain import CheckpointKey
from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.fhir.codes import Sector
from gateway.outcomes import install_handlers
from gateway.review import api
from gateway.review.names import NameDirectory
from tests.e2e.gateway_harness import ISSUER, KEYS, PUBLIC_BASE, Member, token

AUDITOR = Member("audit-console", "Organization/demo-org-social-welfare", Sector.SOCIAL_WELFARE,
                 "PractitionerRole/demo-role-auditor", "auditor")  # fmt: skip


async def nothing(resource_type: str, ids: Sequence[str]) -> Sequence[Mapping[str, object]]:
    return []  # a store holding none of them


def test_an_unexpected_failure_is_answered_500_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(api, "render_console", broken)
    trail = AuditTrail(
        AuditStore.sqlite(tmp_path / "audit.sqlite"), CheckpointKey.load(tmp_path / "key.pem"), server=PUBLIC_BASE
    )
    verifier = TokenVerifier(KEYS, issuer=ISSUER, audience=PUBLIC_BASE, clock=time.time)
    names = NameDirectory(nothing, {}, ttl=60)
    router = api.create_audit_router(AuditedFrame(verifier, trail), load_policy(), trail, "http://gateway.test", names)
    bearer = token(AUDITOR, ("system/AuditEvent.rs",))

    async def call() -> httpx.Response:
        app = FastAPI()
        install_handlers(app)
        app.include_router(router)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            return await client.get("/audit/console", headers={"Authorization": f"Bearer {bearer}"})

    response = asyncio.run(call())
    assert response.status_code == 500 and response.json()["resourceType"] == "OperationOutcome"
    assert "exploded" not in response.text  # the exception's text is logged, never sent
    events = [json.loads(stored.event) for stored in trail.store.events()]
    assert [(e["outcome"], "500" in e["outcomeDesc"]) for e in events if e["type"]["code"] == "rest"] == [("12", True)]
