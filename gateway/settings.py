"""One settings object for Yhteys, read from the environment once.

Every knob has a default that works on a developer machine; see the configuration table in
README.md. Callers build a `Settings` with `Settings.from_env()` at the edge (CLI, test session)
and pass it down; nothing else reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["PROJECT_ROOT", "Settings", "SettingsError"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout: profiles/, terminology/ and docker/ are read from here."""


class SettingsError(ValueError):
    """An environment variable holds a value Yhteys cannot use."""


@dataclass(frozen=True)
class Settings:
    """Where Yhteys keeps its data and how it runs the HAPI FHIR store.

    `hapi_db_url` empty means the default H2 file database under `data_dir`; set it to a
    `jdbc:postgresql://...` URL (with user and password) to run HAPI on PostgreSQL.
    `gateway_trusted_proxies` are the addresses or networks (CIDR) of the reverse proxies whose
    `X-Forwarded-For` the gateway believes; empty, the default, believes nobody's.
    `document_trust_path` and `document_keys_path` are where signed documents' trust store and
    signing keys live (see the properties).
    `audit_checkpoint_ms` is the longest time between signed audit checkpoints while records
    arrive (1–60000 ms): the window in which a cut tail of the trail goes unnoticed.
    `oidc_issuer` is the identity provider people log in at (empty: no browser login, unless
    `yhteys run` starts its embedded Keycloak, on `keycloak_port`); `oidc_client_id` and
    `oidc_client_secret` the gateway's registration there; `oidc_claims` which claims carry
    the professional role, the provider's roles, the auditor role's name and the henkilötunnus
    (`name=claim` pairs, see `gateway.login.people.ClaimsMapping`). A browser session ends after
    `session_idle` seconds without a request, or `session_lifetime` seconds after login.
    `names_ttl` is how long the audit pages keep a name read from the store (0–3600 s): the
    longest time a changed or deleted professional's or organisation's name can still show.
    """

    data_dir: Path
    hapi_host: str = "127.0.0.1"
    hapi_port: int = 8080
    hapi_db_url: str = ""
    hapi_db_user: str = "sa"
    hapi_db_password: str = ""
    hapi_heap: str = "4g"
    hapi_start_timeout: float = 300.0
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_public_url: str = ""
    gateway_max_body: int = 1_048_576
    gateway_trusted_proxies: tuple[str, ...] = ()
    audit_db_url: str = ""
    audit_witness_path: str = ""
    audit_checkpoint_ms: int = 1000
    names_ttl: int = 60
    document_trust_path: str = ""
    document_keys_path: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = "yhteys-gateway"
    oidc_client_secret: str = ""
    oidc_claims: tuple[tuple[str, str], ...] = ()
    session_idle: int = 900
    session_lifetime: int = 28_800
    keycloak_port: int = 8180
    project_root: Path = PROJECT_ROOT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `YHTEYS_*` variables; raise `SettingsError` naming the first bad one."""
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("YHTEYS_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve(),
            hapi_host=env.get("YHTEYS_HAPI_HOST", "127.0.0.1"),
            hapi_port=_int(env, "YHTEYS_HAPI_PORT", 8080),
            hapi_db_url=env.get("YHTEYS_HAPI_DB_URL", ""),
            hapi_db_user=env.get("YHTEYS_HAPI_DB_USER", "sa"),
            hapi_db_password=env.get("YHTEYS_HAPI_DB_PASSWORD", ""),
            hapi_heap=env.get("YHTEYS_HAPI_HEAP", "4g"),
            hapi_start_timeout=float(_int(env, "YHTEYS_HAPI_START_TIMEOUT", 300)),
            gateway_host=env.get("YHTEYS_GATEWAY_HOST", "127.0.0.1"),
            gateway_port=_int(env, "YHTEYS_GATEWAY_PORT", 8000),
            gateway_public_url=env.get("YHTEYS_GATEWAY_PUBLIC_URL", ""),
            gateway_max_body=_int(env, "YHTEYS_GATEWAY_MAX_BODY", 1_048_576),
            gateway_trusted_proxies=_networks(env, "YHTEYS_GATEWAY_TRUSTED_PROXIES"),
            audit_db_url=env.get("YHTEYS_AUDIT_DB_URL", ""),
            audit_witness_path=env.get("YHTEYS_AUDIT_WITNESS", ""),
            audit_checkpoint_ms=_int_in(env, "YHTEYS_AUDIT_CHECKPOINT_MS", 1000, 1, 60_000),
            names_ttl=_int_in(env, "YHTEYS_NAMES_TTL", 60, 0, 3600),
            document_trust_path=env.get("YHTEYS_DOCUMENT_TRUST", ""),
            document_keys_path=env.get("YHTEYS_DOCUMENT_KEYS", ""),
            oidc_issuer=env.get("YHTEYS_OIDC_ISSUER", "").rstrip("/"),
            oidc_client_id=env.get("YHTEYS_OIDC_CLIENT_ID", "yhteys-gateway"),
            oidc_client_secret=env.get("YHTEYS_OIDC_CLIENT_SECRET", ""),
            oidc_claims=_pairs(env, "YHTEYS_OIDC_CLAIMS"),
            session_idle=_int_in(env, "YHTEYS_SESSION_IDLE", 900, 1, 86_400),
            session_lifetime=_int_in(env, "YHTEYS_SESSION_LIFETIME", 28_800, 60, 7 * 86_400),
            keycloak_port=_int(env, "YHTEYS_KEYCLOAK_PORT", 8180),
        )

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (tests use it for a private port and data dir)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def hapi_base_url(self) -> str:
        """The FHIR base of the HAPI store, e.g. `http://127.0.0.1:8080/fhir`."""
        return f"http://{self.hapi_host}:{self.hapi_port}/fhir"

    @property
    def gateway_origin(self) -> str:
        """Where clients reach the gateway, e.g. `http://127.0.0.1:8000` (its FHIR base is /fhir):
        `gateway_public_url` when set (behind a proxy or in a container), else host and port."""
        return self.gateway_public_url.rstrip("/") or f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def gateway_dir(self) -> Path:
        """The gateway's files: client registry, signing key, demo client keys, audit trail."""
        return self.data_dir / "gateway"

    @property
    def audit_witness(self) -> Path:
        """The file every audit checkpoint is appended to, for another system to hold:
        `audit_witness_path` when set, else `<gateway dir>/audit-witness.jsonl`."""
        return Path(self.audit_witness_path) if self.audit_witness_path else self.gateway_dir / "audit-witness.jsonl"

    @property
    def document_trust(self) -> Path:
        """The folder of CA certificates and CRLs a signed document is verified against:
        `document_trust_path` when set, else `<gateway dir>/pki/trust`."""
        return Path(self.document_trust_path) if self.document_trust_path else self.gateway_dir / "pki" / "trust"

    @property
    def document_keys(self) -> Path:
        """The organisations' document-signing keys by kid (private keys 0600): `document_keys_path`
        when set, else `<gateway dir>/pki/keys`."""
        return Path(self.document_keys_path) if self.document_keys_path else self.gateway_dir / "pki" / "keys"

    @property
    def hapi_jdbc_url(self) -> str:
        """The JDBC URL HAPI uses: the configured one, or the H2 file database in `data_dir`.

        H2 writes each commit to its file at once (WRITE_DELAY=0): by default it waits up to
        half a second, and a HAPI killed in that window would lose acknowledged writes.
        """
        if self.hapi_db_url:
            return self.hapi_db_url
        return f"jdbc:h2:file:{self.data_dir / 'hapi' / 'h2'};DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _int_in(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """`_int`, which must also lie in `low`..`high`."""
    value = _int(env, name, default)
    if not low <= value <= high:
        raise SettingsError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or CIDR networks, each checked."""
    items = tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f"{name} must list IP addresses or networks (CIDR), got {item!r}") from None
    return items


def _pairs(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """A comma-separated list of `name=value` pairs."""
    pairs = []
    for item in (item.strip() for item in env.get(name, "").split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SettingsError(f"{name} must list name=value pairs, got {item!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)
