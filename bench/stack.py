"""The system under test, started as production runs it, in a temporary directory on free ports.

`hapi_with_demo()` builds HAPI if needed (`gateway.store.hapi.HapiServer`), starts it with its own
data directory and a free port, loads the demo (`gateway.demo.load_demo`) and yields the
`Settings` (with a free gateway port too); on exit HAPI is stopped and the directory removed.

`served_gateway(settings)` registers the demo systems and makes the demo PKI as `yhteys run`
does (`ensure_demo_clients`, `ensure_demo_pki`), then runs `yhteys gateway serve` as a child process with those
settings in its environment — uvicorn serving `gateway.app.assembly.build_gateway`, as in
production — and waits until `/fhir/metadata` answers 200; on exit the child is terminated.
`served_gateway(settings, command)` runs `command` instead, which must serve the gateway for
the settings it finds in its environment (as `bench.audited_gateway` does).
Either raises `StackError` with the log tail when something does not start.

`environment(settings)` is the environment such a child is started with; `log_tail(file)` the
end of its log, for an error message.

`token(settings, system, scope)` is an access token for a demo system from the gateway's
token endpoint (a signed private_key_jwt assertion, exchanged, as `yhteys demo token`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from auth.config import TOKEN_PATH
from gateway.demo import load_demo
from gateway.demo.clients import demo_token, ensure_demo_clients
from gateway.demo.pki import ensure_demo_pki
from gateway.settings import Settings
from gateway.store.hapi import HapiServer
from tests.ports import free_port

__all__ = ["StackError", "environment", "hapi_with_demo", "log_tail", "served_gateway", "stop_child", "token"]

_GATEWAY_START_TIMEOUT = 60.0


class StackError(RuntimeError):
    """Part of the system under test did not start; the message carries its log tail."""


@contextmanager
def hapi_with_demo() -> Iterator[Settings]:
    """HAPI on a free port with a private data directory and the demo loaded; see the module doc."""
    data_dir = Path(tempfile.mkdtemp(prefix="yhteys-bench-"))
    settings = Settings.from_env().with_changes(
        data_dir=data_dir, hapi_port=free_port(), hapi_db_url="", gateway_port=free_port(), gateway_public_url=""
    )
    server = HapiServer(settings)
    try:
        server.build()
        server.start()
        with httpx.Client(timeout=120.0) as client:
            load_demo(client, settings.hapi_base_url)
        yield settings
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def served_gateway(settings: Settings, command: Sequence[str] | None = None) -> Iterator[Settings]:
    """`yhteys gateway serve` (or `command`) for `settings`, running until the block ends; see the module doc."""
    ensure_demo_clients(settings.gateway_dir)
    ensure_demo_pki(settings)
    if command is None:
        yhteys = Path(sys.executable).with_name("yhteys")
        if not yhteys.exists():
            raise StackError(f"{yhteys} does not exist: install the project into this venv (pip install -e .)")
        command = [str(yhteys), "gateway", "serve"]
    log_file = settings.data_dir / "gateway.log"
    with log_file.open("wb") as log:
        child = subprocess.Popen(
            list(command), env=environment(settings), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(child, f"{settings.gateway_origin}/fhir/metadata", log_file)
        yield settings
    finally:
        stop_child(child)


def stop_child(child: subprocess.Popen[bytes]) -> None:
    """Terminate `child`, and kill it if it has not ended within 30 s."""
    child.terminate()
    try:
        child.wait(30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment with `settings` in it, as `Settings.from_env` reads them: what
    a child serving the stack (the gateway, the MLLP listener) is started with."""
    return {
        **os.environ,
        "YHTEYS_DATA_DIR": str(settings.data_dir),
        "YHTEYS_HAPI_HOST": settings.hapi_host,
        "YHTEYS_HAPI_PORT": str(settings.hapi_port),
        "YHTEYS_GATEWAY_HOST": settings.gateway_host,
        "YHTEYS_GATEWAY_PORT": str(settings.gateway_port),
        "YHTEYS_GATEWAY_PUBLIC_URL": "",
    }


def _wait_until_serving(child: subprocess.Popen[bytes], url: str, log_file: Path) -> None:
    deadline = time.monotonic() + _GATEWAY_START_TIMEOUT
    with httpx.Client(timeout=5.0) as client:
        while True:
            if child.poll() is not None:
                raise StackError(f"the gateway exited with {child.returncode}:\n{log_tail(log_file)}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"the gateway did not answer 200 on {url}:\n{log_tail(log_file)}")
            time.sleep(0.2)


def log_tail(log_file: Path, lines: int = 40) -> str:
    """The last `lines` lines of a child's log file, or "(no log)"."""
    try:
        return "\n".join(log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def token(settings: Settings, system: str, scope: str) -> str:
    """An access token (valid 300 s) for demo system `system` with `scope`, from the running gateway."""
    return demo_token(settings.gateway_dir, f"{settings.gateway_origin}{TOKEN_PATH}", system, scope=scope)
