"""The audit trail is written before the answer leaves: a killed gateway lost no record of an
answer it gave, and a gateway that cannot write its trail answers 503 and discloses nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from auth.config import TOKEN_PATH
from gateway.audit.chain import CheckpointKey
from gateway.audit.setup import checkpoint_key, open_store
from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.audit.verify import verify
from gateway.demo import DemoLoad
from gateway.demo.clients import demo_token, ensure_demo_clients
from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import REQUEST_ID_SYSTEM
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.e2e.gateway_harness import PUBLIC_BASE, YOUTH_WORKER, Gateway, token
from tests.ports import free_port


def _start_gateway(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`yhteys gateway serve` as production runs it, in a child process we can kill."""
    env = {**os.environ, "YHTEYS_DATA_DIR": str(settings.data_dir), "YHTEYS_HAPI_PORT": str(settings.hapi_port),
           "YHTEYS_GATEWAY_PORT": str(settings.gateway_port), "YHTEYS_GATEWAY_PUBLIC_URL": ""}  # fmt: skip
    command = Path(sys.executable).with_name("yhteys")
    with log.open("ab") as out:
        child = subprocess.Popen([str(command), "gateway", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, log.read_text()
        try:
            if httpx.get(f"{settings.gateway_origin}/fhir/metadata", timeout=2).status_code == 200:
                return child
        except httpx.TransportError:
            time.sleep(0.2)
    child.kill()
    pytest.fail(f"the gateway did not start:\n{log.read_text()[-3000:]}")


def _request_ids(settings: Settings) -> set[str]:
    store = open_store(settings)
    try:
        events = [json.loads(stored.event) for stored in store.events()]
    finally:
        store.close()
    return {
        entity["what"]["identifier"]["value"]
        for event in events
        for entity in event["entity"]
        if entity["what"].get("identifier", {}).get("system") == REQUEST_ID_SYSTEM
    }


@pytest.mark.slow
def test_a_gateway_killed_mid_run_recorded_every_answer_it_gave(
    hapi: HapiServer, demo: DemoLoad, tmp_path: Path
) -> None:
    settings = hapi.settings.with_changes(data_dir=tmp_path / "data", gateway_port=free_port())
    ensure_demo_clients(settings.gateway_dir)
    log = tmp_path / "gateway.log"
    child = _start_gateway(settings, log)
    bearer = demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", "youth-system")
    answered: list[str] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        with httpx.Client(timeout=10) as http:
            for n in range(10_000):
                request_id = f"kill-{worker}-{n}"
                try:
                    response = http.get(
                        f"{settings.gateway_origin}/fhir/CarePlan/demo-plan",
                        headers={"Authorization": f"Bearer {bearer}", "X-Request-Id": request_id},
                    )
                except httpx.TransportError:
                    return  # the gateway is gone: this request got no answer
                assert response.status_code == 200, response.text
                with lock:
                    answered.append(response.headers["x-request-id"])

    workers = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 60
    while len(answered) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)  # no shutdown, no final checkpoint
    child.wait()
    for worker in workers:
        worker.join(30)
    assert len(answered) >= 60
    recorded = _request_ids(settings)
    assert set(answered) <= recorded, sorted(set(answered) - recorded)[:5]
    restarted = _start_gateway(settings, log)  # the trail reopens and goes on
    assert (
        httpx.get(f"{settings.gateway_origin}/fhir/CarePlan/demo-plan", headers={"X-Request-Id": "after"}).status_code
        == 401
    )
    restarted.terminate()
    restarted.wait(30)
    store = open_store(settings)
    try:
        verdict = verify(store.events(), store.checkpoints(), checkpoint_key(settings).public_key)
    finally:
        store.close()
    assert verdict.ok, verdict
    assert "after" in _request_ids(settings)


def test_a_trail_that_cannot_be_written_means_503_and_nothing_disclosed(
    hapi: HapiServer, demo: DemoLoad, tmp_path: Path
) -> None:
    path = tmp_path / "audit.sqlite"
    trail = AuditTrail(
        AuditStore.sqlite(path, busy_timeout=0.2), CheckpointKey.load(tmp_path / "key.pem"), server=PUBLIC_BASE
    )
    call = Gateway(hapi.settings.with_changes(data_dir=tmp_path / "gateway"), trail)
    assert call("GET", "/fhir/CarePlan/demo-plan", token(YOUTH_WORKER)).status_code == 200
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database: the trail cannot be written
    try:
        refused = call("GET", "/fhir/CarePlan/demo-plan", token(YOUTH_WORKER))
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith(FHIR_JSON)
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert "activity" not in refused.text and "Aino" not in refused.text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert call("GET", "/fhir/CarePlan/demo-plan", token(YOUTH_WORKER)).status_code == 200
    call.close()
