"""No write without its audit record: the trail holds the intended write before the store sees it.

If the intent cannot be recorded, the store is not touched; if the gateway is killed at any
moment, every change the store holds has a record in the trail (by the X-Request-Id the change
carries in its own text). What was stored is checked on HAPI directly.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth.config import TOKEN_PATH
from gateway.audit.chain import CheckpointKey
from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.demo import DemoLoad
from gateway.demo.clients import demo_token, ensure_demo_clients
from gateway.fhir.media import FHIR_JSON
from gateway.store.hapi import HapiServer
from tests.e2e.gateway_harness import PUBLIC_BASE, SOCIAL_WORKER, WRITE_SCOPES, Client, Gateway, copy_demo_client
from tests.e2e.test_audit_durability import _request_ids, _start_gateway
from tests.e2e.test_gateway_writes import _activity, _bundle, _put, _put_entry, _read, _stored, _writer
from tests.ports import free_port


def test_a_write_whose_intent_cannot_be_recorded_never_reaches_the_store(
    hapi: HapiServer, fhir: httpx.Client, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "audit.sqlite"
    trail = AuditTrail(
        AuditStore.sqlite(path, busy_timeout=0.2), CheckpointKey.load(tmp_path / "key.pem"), server=PUBLIC_BASE
    )
    call = Gateway(hapi.settings.with_changes(data_dir=tmp_path / "gateway"), trail)
    plan, etag = _read(call, SOCIAL_WORKER, client.ref("plan"))
    goal, goal_etag = _read(call, SOCIAL_WORKER, client.ref("goal-home"))
    _activity(plan, "child-protection")["detail"]["status"] = "on-hold"
    created = {**goal, "description": {"text": "never stored"}}
    del created["id"]
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the trail: nothing can be recorded
    try:
        answers = [
            _put(call, SOCIAL_WORKER, plan, etag),
            call("POST", "/fhir/Goal", _writer(SOCIAL_WORKER), json.dumps(created).encode(), FHIR_JSON),
            call(
                "POST",
                "/fhir",
                _writer(SOCIAL_WORKER),
                _bundle("transaction", _put_entry(plan, etag), _put_entry(goal, goal_etag)),
                FHIR_JSON,
            ),
        ]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert all(a.json()["resourceType"] == "OperationOutcome" for a in answers)
    assert _stored(fhir, client.ref("plan"))["meta"]["versionId"] == "1"
    assert _stored(fhir, client.ref("goal-home"))["meta"]["versionId"] == "1"
    goals = fhir.get("/Goal", params={"subject": client.ref("client"), "_count": "100"}).json()
    assert all(e["resource"]["description"]["text"] != "never stored" for e in goals.get("entry", []))
    written = _put(call, SOCIAL_WORKER, plan, etag)  # the trail is back: the same write goes through
    assert written.status_code == 200, written.text
    call.close()


def test_an_intended_write_is_recorded_before_its_outcome(call: Gateway, client: Client) -> None:
    plan, etag = _read(call, SOCIAL_WORKER, client.ref("plan"))
    _activity(plan, "child-protection")["detail"]["status"] = "on-hold"
    assert _put(call, SOCIAL_WORKER, plan, etag).status_code == 200
    intent, done = call.rest_events()[-2:]
    assert "outcome" not in intent and done["outcome"] == "0"
    assert intent["outcomeDesc"].startswith(f"intended: PUT {client.ref('plan')} (version 1)")
    assert intent["_keys"]["patient"] == done["_keys"]["patient"] == client.ref("client")
    assert intent["_keys"]["outcome"] is None
    assert [e["what"] for e in intent["entity"] if "identifier" in e["what"]] == [
        e["what"] for e in done["entity"] if "identifier" in e["what"]
    ]  # the same X-Request-Id ties them


def _goal_text(goal: dict[str, Any], text: str) -> dict[str, Any]:
    return {**goal, "description": {"text": text}}


@pytest.mark.slow
def test_a_gateway_killed_while_writing_left_a_record_of_every_change_the_store_holds(
    hapi: HapiServer, demo: DemoLoad, fhir: httpx.Client, tmp_path: Path
) -> None:
    settings = hapi.settings.with_changes(data_dir=tmp_path / "data", gateway_port=free_port())
    ensure_demo_clients(settings.gateway_dir)
    child = _start_gateway(settings, tmp_path / "gateway.log")
    bearer = demo_token(
        settings.gateway_dir,
        f"{settings.gateway_origin}{TOKEN_PATH}",
        "social-welfare-system",
        scope=" ".join(WRITE_SCOPES),
    )
    clients = [copy_demo_client(fhir) for _ in range(4)]
    written = threading.Semaphore(0)

    def writer(worker: int, client: Client) -> None:
        path = f"{settings.gateway_origin}/fhir/{client.ref('goal-home')}"
        auth = {"Authorization": f"Bearer {bearer}"}
        with httpx.Client(timeout=10) as http:
            for n in range(10_000):
                request_id = f"write-{worker}-{n}"
                try:
                    current = http.get(path, headers=auth)
                    goal = _goal_text(current.json(), request_id)  # the change carries its request id
                    http.put(
                        path,
                        content=json.dumps(goal).encode(),
                        headers={**auth, "Content-Type": FHIR_JSON, "If-Match": current.headers["etag"],
                                 "X-Request-Id": request_id},
                    )  # fmt: skip
                except httpx.TransportError:
                    return  # the gateway is gone
                written.release()

    workers = [threading.Thread(target=writer, args=(n, c)) for n, c in enumerate(clients)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 90
    count = 0
    while count < 40 and time.monotonic() < deadline:
        count += written.acquire(timeout=1)
    os.kill(child.pid, signal.SIGKILL)  # mid-write: no shutdown
    child.wait()
    for worker in workers:
        worker.join(30)
    assert count >= 40
    recorded = _request_ids(settings)
    stored_changes = set()
    for client in clients:
        history = fhir.get(f"/{client.ref('goal-home')}/_history", params={"_count": "1000"}).json()
        texts = {e["resource"]["description"]["text"] for e in history["entry"] if "resource" in e}
        stored_changes |= {text for text in texts if text.startswith("write-")}
    assert len(stored_changes) >= 40
    assert stored_changes <= recorded, sorted(stored_changes - recorded)[:5]
