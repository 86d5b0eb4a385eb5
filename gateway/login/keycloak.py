"""The identity provider the tests and `yhteys run` use: a real Keycloak with the realm we ship.

`Keycloak(home, run_dir, port)`:

- `install()` fetches `org.keycloak:keycloak-quarkus-dist:<KEYCLOAK_VERSION>:zip` from Maven
  Central with Maven (`mvn dependency:copy`, so the machine's Maven settings and cache apply)
  into `home` once, and unpacks it there;
- `start(realm)` runs it (`kc.sh start-dev`, its database in memory, on 127.0.0.1:`port`, its
  log in `run_dir/keycloak.log`) with a Java of version 21 or newer (`find_java`: the
  `YHTEYS_KEYCLOAK_JAVA_HOME` variable, `JAVA_HOME`, the `java` on PATH, then the JDKs under
  /usr/lib/jvm, the newest that qualifies; Keycloak 26 needs 21+), waits until it answers, and
  creates `realm` through the admin API with a bootstrap admin whose password is random per
  start; `KeycloakError` says why if any step fails (with the log's tail);
- `stop()` ends it.

`demo_realm(origin, client_id, secret, passwords)` is the realm file
`docker/keycloak/yhteys-realm.json` with the gateway's origin, its client id and secret and the
demo people's passwords filled in (`${NAME}` placeholders, which Keycloak's own import also
fills from the environment for Docker users): an auditor, a client (the demo young person) and
a guardian (`DEMO_PEOPLE`).
The process is this one's child: it ends with `stop()`, at the latest when its parent does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import PROJECT_ROOT

__all__ = [
    "DEMO_PEOPLE", "KEYCLOAK_VERSION", "REALM", "REALM_TEMPLATE", "Keycloak", "KeycloakError", "demo_realm", "find_java",
]  # fmt: skip

KEYCLOAK_VERSION = "26.4.7"
REALM = "yhteys"
_MINIMUM_JAVA = 21
_START_TIMEOUT = 240.0
_LOG_TAIL_LINES = 40
_JAVA_VERSION = re.compile(r'^JAVA_VERSION="(\d+)', re.MULTILINE)
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")

REALM_TEMPLATE = PROJECT_ROOT / "docker" / "keycloak" / "yhteys-realm.json"
"""The realm we ship (for Docker users too): Keycloak's realm JSON with `${NAME}` placeholders."""

DEMO_PEOPLE = {"auditor": "sari.lahtinen", "client": "aino.kallio", "guardian": "petri.kallio"}
"""The demo realm's people by what they are: their user names (the password placeholders are
`<WHAT>_PASSWORD`)."""


class KeycloakError(RuntimeError):
    """Keycloak could not be installed, started or set up; the message says why."""


def find_java(environ: Mapping[str, str] | None = None, jvm_root: Path = Path("/usr/lib/jvm")) -> Path | None:
    """The home of a Java `_MINIMUM_JAVA`+ (see the module doc for the order), or None."""
    env = os.environ if environ is None else environ
    candidates: list[Path] = [Path(env[name]) for name in ("YHTEYS_KEYCLOAK_JAVA_HOME", "JAVA_HOME") if env.get(name)]
    on_path = shutil.which("java", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    installed = sorted(jvm_root.iterdir(), key=_major, reverse=True) if jvm_root.is_dir() else []
    for home in [*candidates, *installed]:
        if _major(home) >= _MINIMUM_JAVA and (home / "bin" / "java").is_file():
            return home
    return None


def _major(home: Path) -> int:
    """The major version a JDK's `release` file states (0 if none)."""
    try:
        match = _JAVA_VERSION.search((home / "release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return 0
    return int(match.group(1)) if match else 0


def demo_realm(
    gateway_origin: str,
    client_id: str,
    client_secret: str,
    passwords: Mapping[str, str],
    template: Path = REALM_TEMPLATE,
) -> dict[str, Any]:
    """The realm of `template` for a gateway at `gateway_origin`, registered as `client_id` with
    `client_secret`, and the demo people's `passwords` (keyed as `DEMO_PEOPLE`)."""
    values = {
        "GATEWAY_ORIGIN": gateway_origin,
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        **{f"{what.upper()}_PASSWORD": password for what, password in passwords.items()},
    }
    text = template.read_text(encoding="utf-8")
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeycloakError(f"the realm template needs values for {', '.join(missing)}")
    filled = _PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text)
    realm: dict[str, Any] = json.loads(filled)
    return realm


@dataclass
class Keycloak:
    """One Keycloak; see the module doc."""

    home: Path
    run_dir: Path
    port: int
    host: str = "127.0.0.1"
    _child: subprocess.Popen[bytes] | None = None
    _admin_password: str = ""

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        """The issuer of the shipped realm."""
        return f"{self.origin}/realms/{REALM}"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "keycloak.log"

    @property
    def dist(self) -> Path:
        return self.home / f"keycloak-{KEYCLOAK_VERSION}"

    def install(self) -> Path:
        """The unpacked distribution, fetched and unpacked first if it is not there."""
        if (self.dist / "bin" / "kc.sh").is_file():
            return self.dist
        self.home.mkdir(parents=True, exist_ok=True)
        archive = self.home / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"
        if not archive.is_file():
            artifact = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
            try:
                done = subprocess.run(
                    ["mvn", "-B", "-q", "dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={self.home}"],
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise KeycloakError(f"Maven could not fetch {artifact}: {exc}") from None
            if done.returncode != 0 or not archive.is_file():
                raise KeycloakError(f"Maven could not fetch {artifact}:\n{(done.stdout + done.stderr)[-2000:]}")
        unpacking = self.home / f".unpacking-{os.getpid()}"
        shutil.rmtree(unpacking, ignore_errors=True)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(unpacking)
        for script in (unpacking / f"keycloak-{KEYCLOAK_VERSION}" / "bin").glob("*.sh"):
            script.chmod(0o755)
        try:
            (unpacking / f"keycloak-{KEYCLOAK_VERSION}").rename(self.dist)
        except OSError:
            if not (self.dist / "bin" / "kc.sh").is_file():  # not another process unpacking it first
                raise
        shutil.rmtree(unpacking, ignore_errors=True)
        return self.dist

    def start(self, realm: Mapping[str, Any], java_home: Path | None = None) -> None:
        """Run Keycloak and create `realm` in it; see the module doc."""
        java = java_home or find_java()
        if java is None:
            raise KeycloakError(
                f"Keycloak {KEYCLOAK_VERSION} needs Java {_MINIMUM_JAVA} or newer, and none is installed"
            )
        dist = self.install()
        if _answers(f"{self.origin}/realms/master"):
            raise KeycloakError(f"something already answers on {self.origin}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._admin_password = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "JAVA_HOME": str(java),
            "PATH": f"{java / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self._admin_password,
            "JAVA_OPTS_KC_HEAP": "-Xms128m -Xmx768m",
        }
        command = [
            str(dist / "bin" / "kc.sh"), "start-dev", "--db=dev-mem", f"--http-port={self.port}",
            f"--http-host={self.host}", "--hostname-strict=false", "--health-enabled=false",
        ]  # fmt: skip
        with self.log_file.open("wb") as log:
            self._child = subprocess.Popen(
                command, cwd=self.run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_ready()
            self._create_realm(realm)
        except BaseException:
            self.stop()
            raise

    def add_person(self, username: str, password: str, first: str, last: str, attributes: Mapping[str, str]) -> None:
        """Add a person to the running realm (tests add a client of their own this way)."""
        user = {
            "username": username, "firstName": first, "lastName": last, "enabled": True, "emailVerified": True,
            "attributes": {name: [value] for name, value in attributes.items()},
            "realmRoles": ["citizen"], "credentials": [{"type": "password", "value": password, "temporary": False}],
        }  # fmt: skip
        with self._admin() as client:
            created = client.post(f"/admin/realms/{REALM}/users", json=user)
            if created.status_code != 201:
                raise KeycloakError(f"Keycloak refused the user (HTTP {created.status_code}): {created.text[:300]}")

    def stop(self, timeout: float = 30.0) -> None:
        """End Keycloak (SIGTERM, then SIGKILL after `timeout`), if it runs."""
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:])
        except OSError:
            return "(no log)"

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(f"{self.origin}/realms/master/.well-known/openid-configuration", ok_only=True):
            if self._child is None or self._child.poll() is not None:
                code = self._child.returncode if self._child else "?"
                raise KeycloakError(f"Keycloak exited with code {code} while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise KeycloakError(f"Keycloak did not answer within {_START_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(1.0)

    def _create_realm(self, realm: Mapping[str, Any]) -> None:
        with self._admin() as client:
            created = client.post("/admin/realms", json=dict(realm))
            if created.status_code != 201:
                raise KeycloakError(f"Keycloak refused the realm (HTTP {created.status_code}): {created.text[:500]}")

    @contextmanager
    def _admin(self) -> Iterator[httpx.Client]:
        """A client of Keycloak's admin API, logged in as the bootstrap admin of this start."""
        with httpx.Client(base_url=self.origin, timeout=60.0) as client:
            answer = client.post(
                "/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": "admin",
                    "password": self._admin_password,
                },
            )
            if answer.status_code != 200:
                raise KeycloakError(f"Keycloak's admin login failed (HTTP {answer.status_code})")
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            yield client


def _answers(url: str, *, ok_only: bool = False) -> bool:
    try:
        status = httpx.get(url, timeout=2.0).status_code
    except httpx.TransportError:
        return False
    return status == 200 if ok_only else True
