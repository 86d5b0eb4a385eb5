"""Build, start, stop and inspect our HAPI FHIR store (the Maven project in docker/hapi).

`HapiServer(settings)` is the one handle on it:

- `build()` runs Maven once and reuses the jar until pom.xml or anything under src/ changes
  (a digest of those files is kept beside the jar);
- `start()` builds our FHIR package, runs the jar in the background with its log in
  `<data_dir>/hapi/hapi.log`, and waits until `/fhir/metadata` answers 200 (the server holds
  every request at 503 until our profiles and terminology are installed); if the process dies or
  the wait times out, `HapiError` carries the tail of the log;
- `stop()` and `status()`.

The process runs in its own session, so it outlives the command that started it; the pid file
in `<data_dir>/hapi/` is how a later command finds it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.settings import Settings
from gateway.store.package import FhirPackage, build_package

__all__ = ["HapiError", "HapiServer", "HapiStatus", "BuildResult", "StartResult"]

_JAR_NAME = "yhteys-hapi.jar"
_LOG_TAIL_LINES = 60

Tick = Callable[[str], None]
"""Called while waiting, with a short description of what is being waited for."""


class HapiError(RuntimeError):
    """HAPI could not be built, started or stopped; the message says why (with the log tail)."""


@dataclass(frozen=True)
class BuildResult:
    jar: Path
    rebuilt: bool
    seconds: float


@dataclass(frozen=True)
class StartResult:
    pid: int
    base_url: str
    package: FhirPackage
    seconds: float


@dataclass(frozen=True)
class HapiStatus:
    running: bool
    ready: bool
    pid: int | None
    base_url: str
    log_file: Path


class HapiServer:
    """Our HAPI FHIR store as configured by `settings`."""

    MAVEN_PACKAGE = ("mvn", "-B", "-q", "package", "-Dmaven.test.skip=true")
    """The build command, run in docker/hapi."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.project_dir = settings.project_root / "docker" / "hapi"
        self.jar = self.project_dir / "target" / _JAR_NAME
        self.run_dir = settings.data_dir / "hapi"
        self.log_file = self.run_dir / "hapi.log"
        self.pid_file = self.run_dir / "hapi.pid"
        self._child: subprocess.Popen[bytes] | None = None

    # -- build -------------------------------------------------------------------------------

    def sources_digest(self) -> str:
        """Digest of pom.xml and every file under src/: what the jar is built from."""
        digest = hashlib.sha256()
        files = [self.project_dir / "pom.xml", *sorted((self.project_dir / "src").rglob("*"))]
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(self.project_dir).as_posix().encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def jar_is_current(self) -> bool:
        stamp = self._stamp_file()
        return self.jar.is_file() and stamp.is_file() and stamp.read_text() == self.sources_digest()

    def build(self, force: bool = False) -> BuildResult:
        """Build the jar with Maven unless the existing one is current. Raises `HapiError`."""
        started = time.monotonic()
        if not force and self.jar_is_current():
            return BuildResult(self.jar, rebuilt=False, seconds=time.monotonic() - started)
        digest = self.sources_digest()
        try:
            done = subprocess.run(self.MAVEN_PACKAGE, cwd=self.project_dir, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise HapiError("Maven (mvn) is not installed: HAPI cannot be built") from None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise HapiError(f"Maven build of {self.project_dir} failed:\n{tail}")
        self._stamp_file().write_text(digest)
        return BuildResult(self.jar, rebuilt=True, seconds=time.monotonic() - started)

    def _stamp_file(self) -> Path:
        return self.jar.with_suffix(".jar.sha256")

    # -- run ---------------------------------------------------------------------------------

    def start(self, on_tick: Tick | None = None) -> StartResult:
        """Start HAPI in the background and wait until it serves. Raises `HapiError`.

        The caller must have built the jar (`build()`); a server already running from this
        data directory is an error, as is anything else answering on the configured port.
        """
        if not self.jar.is_file():
            raise HapiError(f"{self.jar} does not exist: run `yhteys hapi build` first")
        if self._live_pid() is not None:
            raise HapiError(f"HAPI is already running from {self.run_dir} (pid {self._live_pid()})")
        if self._answers(f"{self.settings.hapi_base_url}/metadata"):
            raise HapiError(f"something already answers on {self.settings.hapi_base_url}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        package = build_package(
            [self.settings.project_root / "profiles", self.settings.project_root / "terminology"],
            self.run_dir,
        )
        started = time.monotonic()
        process = self._child = self._spawn(package)
        self.pid_file.write_text(str(process.pid))
        try:
            self._wait_until_ready(process, started, on_tick)
        except BaseException:
            self._terminate(process.pid)
            self.pid_file.unlink(missing_ok=True)
            raise
        return StartResult(process.pid, self.settings.hapi_base_url, package, time.monotonic() - started)

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop a running HAPI gracefully (SIGTERM, then SIGKILL after `timeout`).

        Returns whether a server was running.
        """
        pid = self._live_pid()
        if pid is None:
            if self._child is not None:  # our own child died: reap it
                self._terminate(self._child.pid, timeout)
            self.pid_file.unlink(missing_ok=True)  # a stale file from a server that died
            return False
        self._terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> HapiStatus:
        """Whether our HAPI runs from this data directory, and whether it serves (200)."""
        pid = self._live_pid()
        ready = False
        if pid is not None:
            with httpx.Client(timeout=5.0) as client:
                ready = _status_code(client, f"{self.settings.hapi_base_url}/metadata") == 200
        return HapiStatus(pid is not None, ready, pid, self.settings.hapi_base_url, self.log_file)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _spawn(self, package: FhirPackage) -> subprocess.Popen[bytes]:
        s = self.settings
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        env = {
            **os.environ,
            "SERVER_ADDRESS": s.hapi_host,
            "SERVER_PORT": str(s.hapi_port),
            "SPRING_DATASOURCE_URL": s.hapi_jdbc_url,
            "SPRING_DATASOURCE_USERNAME": s.hapi_db_user,
            "SPRING_DATASOURCE_PASSWORD": s.hapi_db_password,
            "YHTEYS_PACKAGE_FILE": str(package.path),
            "YHTEYS_LUCENE_DIR": str(self.run_dir / "lucene"),
        }
        command = ["java", "-Xms1g", f"-Xmx{s.hapi_heap}", "-XX:+UseG1GC", "-jar", str(self.jar)]
        with self.log_file.open("wb") as log:
            try:
                return subprocess.Popen(
                    command,
                    cwd=self.run_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise HapiError("Java (java) is not installed: HAPI cannot run") from None

    def _wait_until_ready(self, process: subprocess.Popen[bytes], started: float, on_tick: Tick | None) -> None:
        url = f"{self.settings.hapi_base_url}/metadata"
        deadline = started + self.settings.hapi_start_timeout
        with httpx.Client(timeout=5.0) as client:
            while True:
                if process.poll() is not None:
                    raise HapiError(
                        f"HAPI exited with code {process.returncode} while starting; "
                        f"log {self.log_file}:\n{self.log_tail()}"
                    )
                if _status_code(client, url) == 200:
                    return
                if time.monotonic() > deadline:
                    raise HapiError(
                        f"HAPI did not answer 200 on {url} within "
                        f"{self.settings.hapi_start_timeout:.0f} s; log {self.log_file}:\n"
                        f"{self.log_tail()}"
                    )
                if on_tick is not None:
                    on_tick(_phase(self.log_file))
                time.sleep(1.0)

    def _live_pid(self) -> int | None:
        """The pid in the pid file if that process is alive and is our jar, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid if _JAR_NAME.encode() in cmdline else None

    def _terminate(self, pid: int, timeout: float = 60.0) -> None:
        """SIGTERM `pid`, SIGKILL it after `timeout`, and wait until it is gone."""
        child, self._child = self._child, None
        if child is not None and child.pid == pid:
            child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.2)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        while _alive(pid):
            time.sleep(0.1)

    def _answers(self, url: str) -> bool:
        with httpx.Client(timeout=2.0) as client:
            return _status_code(client, url) is not None


def _status_code(client: httpx.Client, url: str) -> int | None:
    try:
        return client.get(url).status_code
    except httpx.TransportError:
        return None


def _alive(pid: int) -> bool:
    """Whether `pid` (not our child) still runs; a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = _proc_state(pid)
    return state not in ("Z", "X")


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "X"


def _phase(log_file: Path) -> str:
    """A word on what HAPI is doing, read from its log."""
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "starting the JVM"
    if "Yhteys FHIR store ready" in text:
        return "opening"
    if "Started YhteysHapiApplication" in text:
        return "installing profiles and terminology"
    if "Tomcat initialized" in text:
        return "initialising the FHIR store"
    return "starting Spring Boot"
