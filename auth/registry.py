"""The client registry: which connected systems may ask for tokens, with which keys and scopes.

The registry is a YAML file read once at start-up:

    clients:
      - client_id: youth-services-system
        organization: Organization/demo-org-youth-services
        organization_oid: 1.2.246.10.99990004.10.0        # SOTE organisation register
        sector: municipal-youth-services                    # https://yhteys.fi/fhir/CodeSystem/sector
        name: Nuorisopalvelujen asiakasjärjestelmä          # optional: the system's name, for people
        allowed_scopes: [system/CarePlan.rs, system/CareTeam.rs]
        jwks: {keys: [{kty: EC, crv: P-384, kid: "...", x: "...", y: "..."}]}
        # or, instead of jwks:  jwks_file: keys/youth-services.jwks.json  (relative to this file)

Any fault — an unknown or missing key, a bad scope, private key material, a duplicate
client_id, a key that cannot sign ES384 / RS384 — raises `RegistryError` naming the client
and the fault. Callers must let it stop start-up: there is no partial registry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import NotRequired, TypedDict

import yaml  # type: ignore[import-untyped, unused-ignore]
from joserfc.jwk import ECKey, KeySet, RSAKey

from auth.scopes import Scope, ScopeSyntaxError, parse_scope
from gateway.fhir.codes import Sector
from gateway.fhir.ids import ORGANIZATION_REFERENCE

__all__ = [
    "ClientEntry",
    "ClientRegistration",
    "ClientRegistry",
    "NotRegistered",
    "RegistryError",
    "load_registry",
    "parse_registry",
]

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_ALGORITHMS = {"EC": "ES384", "RSA": "RS384"}
_MIN_RSA_BITS = 2048


class RegistryError(ValueError):
    """The registry file is unusable; the message names the client (or position) and the fault."""


class ClientEntry(TypedDict):
    """The shape of one entry under `clients:` in the registry file (exactly one of the jwks keys)."""

    client_id: str
    organization: str
    organization_oid: str
    sector: str
    allowed_scopes: list[str]
    name: NotRequired[str]
    jwks: NotRequired[dict[str, object]]
    jwks_file: NotRequired[str]


_REQUIRED = frozenset({"client_id", "organization", "organization_oid", "sector", "allowed_scopes"})
_OPTIONAL = frozenset({"name", "jwks", "jwks_file"})


@dataclass(frozen=True)
class ClientRegistration:
    """One registered client: its organisation, sector, scope ceiling, public keys and name.

    `keys` holds only public EC P-384 or RSA (≥ 2048 bit) keys, each with a kid, parsed once.
    `name` is the system's name for people (the audit pages show it); "" when the registry
    gives none, and then the client_id stands for it.
    """

    client_id: str
    organization: str
    organization_oid: str
    sector: Sector
    allowed_scopes: tuple[Scope, ...]
    keys: KeySet = field(compare=False, repr=False)
    name: str = ""


@dataclass(frozen=True)
class NotRegistered:
    """The answer for a client_id that is not in the registry."""

    client_id: str


@dataclass(frozen=True)
class ClientRegistry:
    """All registered clients, looked up by client_id. Build with `load_registry`."""

    clients: tuple[ClientRegistration, ...]
    _index: Mapping[str, ClientRegistration] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {client.client_id: client for client in self.clients}
        if len(index) != len(self.clients):
            raise RegistryError("a client_id is registered twice")
        object.__setattr__(self, "_index", MappingProxyType(index))

    def find(self, client_id: str) -> ClientRegistration | NotRegistered:
        """The registration for `client_id`, or `NotRegistered` (callers must refuse it)."""
        return self._index.get(client_id, NotRegistered(client_id))

    @property
    def scopes_supported(self) -> tuple[str, ...]:
        """Every scope some client may be granted, canonical and sorted (for discovery)."""
        return tuple(sorted({str(scope) for client in self.clients for scope in client.allowed_scopes}))


def load_registry(path: Path) -> ClientRegistry:
    """Read and check the registry file at `path`; raise `RegistryError` on any fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: cannot read the client registry ({exc.__class__.__name__})") from exc
    try:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))
        data: object = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    return parse_registry(data, base_dir=path.parent)


def parse_registry(data: object, *, base_dir: Path) -> ClientRegistry:
    """Check already-parsed registry data; `jwks_file` paths are relative to `base_dir`."""
    if not isinstance(data, dict) or set(data) != {"clients"}:
        raise RegistryError("the registry must be a mapping with exactly one key, 'clients'")
    entries = data["clients"]
    if not isinstance(entries, list) or not entries:
        raise RegistryError("'clients' must be a non-empty list")
    clients = [_client(position, entry, base_dir) for position, entry in enumerate(entries)]
    seen: set[str] = set()
    for client in clients:
        if client.client_id in seen:
            raise RegistryError(f"client {client.client_id!r}: client_id is registered twice")
        seen.add(client.client_id)
    return ClientRegistry(tuple(clients))


def _client(position: int, entry: object, base_dir: Path) -> ClientRegistration:
    if not isinstance(entry, dict):
        raise RegistryError(f"clients[{position}]: an entry must be a mapping")
    client_id = entry.get("client_id")
    name = f"client {client_id!r}" if isinstance(client_id, str) else f"clients[{position}]"
    unknown = sorted(str(key) for key in set(entry) - _REQUIRED - _OPTIONAL)
    if unknown:
        raise RegistryError(f"{name}: unknown keys {unknown}")
    missing = sorted(_REQUIRED - set(entry))
    if missing:
        raise RegistryError(f"{name}: missing {missing}")
    checked = _checked_entry(name, entry)
    return ClientRegistration(
        client_id=checked["client_id"],
        organization=checked["organization"],
        organization_oid=checked["organization_oid"],
        sector=Sector(checked["sector"]),
        allowed_scopes=_scopes(name, checked["allowed_scopes"]),
        keys=_key_set(name, _jwks_data(name, checked, base_dir)),
        name=checked.get("name", ""),
    )


def _checked_entry(name: str, entry: dict[object, object]) -> ClientEntry:
    client_id = _text(name, entry, "client_id")
    if not _CLIENT_ID.fullmatch(client_id):
        raise RegistryError(f"{name}: client_id must be 1-128 letters, digits, '.', '_' or '-'")
    organization = _text(name, entry, "organization")
    if not ORGANIZATION_REFERENCE.fullmatch(organization):
        raise RegistryError(f"{name}: organization must be a reference 'Organization/<id>'")
    oid = _text(name, entry, "organization_oid")
    if not _OID.fullmatch(oid):
        raise RegistryError(f"{name}: organization_oid {oid!r} is not an OID (digits and dots)")
    sector = _text(name, entry, "sector")
    if sector not in {code.value for code in Sector}:
        raise RegistryError(f"{name}: sector {sector!r} is not a code of the Yhteys sector CodeSystem")
    scopes = entry["allowed_scopes"]
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise RegistryError(f"{name}: allowed_scopes must be a non-empty list of strings")
    checked: ClientEntry = {
        "client_id": client_id,
        "organization": organization,
        "organization_oid": oid,
        "sector": sector,
        "allowed_scopes": [str(s) for s in scopes],
    }
    if "name" in entry:
        checked["name"] = _text(name, entry, "name").strip()
        if not checked["name"] or len(checked["name"]) > 200 or not checked["name"].isprintable():
            raise RegistryError(f"{name}: name must be 1-200 printable characters on one line")
    if ("jwks" in entry) == ("jwks_file" in entry):
        raise RegistryError(f"{name}: give exactly one of jwks and jwks_file")
    if "jwks" in entry:
        jwks = entry["jwks"]
        if not isinstance(jwks, dict):
            raise RegistryError(f"{name}: jwks must be a JWK Set mapping")
        checked["jwks"] = {str(key): value for key, value in jwks.items()}
    else:
        checked["jwks_file"] = _text(name, entry, "jwks_file")
    return checked


def _text(name: str, entry: dict[object, object], key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise RegistryError(f"{name}: {key} must be a non-empty string")
    return value


def _scopes(name: str, texts: list[str]) -> tuple[Scope, ...]:
    scopes: list[Scope] = []
    for text in texts:
        try:
            scopes.append(parse_scope(text))
        except ScopeSyntaxError as exc:
            raise RegistryError(f"{name}: allowed scope {text!r} is not a SMART v2 scope: {exc}") from exc
    return tuple(scopes)


def _jwks_data(name: str, entry: ClientEntry, base_dir: Path) -> dict[str, object]:
    if "jwks" in entry:
        return entry["jwks"]
    path = base_dir / entry["jwks_file"]
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RegistryError(f"{name}: jwks_file {str(path)!r} is not a readable JSON file") from exc
    if not isinstance(data, dict):
        raise RegistryError(f"{name}: jwks_file {str(path)!r} does not hold a JWK Set")
    return {str(key): value for key, value in data.items()}


def _key_set(name: str, jwks: dict[str, object]) -> KeySet:
    if set(jwks) != {"keys"} or not isinstance(jwks["keys"], list) or not jwks["keys"]:
        raise RegistryError(f"{name}: a JWK Set must be {{'keys': [...]}} with at least one key")
    keys = [_public_key(f"{name}: keys[{i}]", data) for i, data in enumerate(jwks["keys"])]
    kids = [key.kid for key in keys]
    if len(set(kids)) != len(kids):
        raise RegistryError(f"{name}: two keys share a kid")
    return KeySet(list(keys))


def _public_key(where: str, data: object) -> ECKey | RSAKey:
    if not isinstance(data, dict):
        raise RegistryError(f"{where}: a JWK must be a mapping")
    private = sorted(str(member) for member in _PRIVATE_MEMBERS & set(data))
    if private:
        raise RegistryError(f"{where}: holds private key material {private}; register public keys only")
    kty = data.get("kty")
    if kty not in _KEY_ALGORITHMS:
        raise RegistryError(f"{where}: unsupported key type {kty!r}; use EC (P-384) or RSA")
    alg = data.get("alg", _KEY_ALGORITHMS[kty])
    if alg != _KEY_ALGORITHMS[kty]:
        raise RegistryError(f"{where}: alg {alg!r} does not fit; a {kty} key must sign {_KEY_ALGORITHMS[kty]}")
    if data.get("use", "sig") != "sig":
        raise RegistryError(f"{where}: use must be 'sig'")
    if kty == "RSA":
        bits = _rsa_modulus_bits(data.get("n"))
        if bits < _MIN_RSA_BITS:
            raise RegistryError(f"{where}: RSA key of {bits} bits; at least {_MIN_RSA_BITS} needed")
    try:
        key: ECKey | RSAKey = ECKey.import_key(dict(data)) if kty == "EC" else RSAKey.import_key(dict(data))
    except Exception as exc:  # joserfc and cryptography raise many kinds; all mean "not a key"
        raise RegistryError(f"{where}: not a valid {kty} public key ({exc.__class__.__name__})") from exc
    if isinstance(key, ECKey) and key.curve_name != "P-384":
        raise RegistryError(f"{where}: unsupported curve {key.curve_name!r}; ES384 needs P-384")
    key.ensure_kid()
    return key


def _rsa_modulus_bits(n: object) -> int:
    """The size of a JWK's base64url modulus, checked before import (joserfc warns on small keys)."""
    if not isinstance(n, str):
        return 0
    try:
        modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(modulus, "big").bit_length()


def _reject_duplicate_keys(node: object) -> None:
    """Walk a composed YAML node tree; raise `RegistryError` if a mapping repeats a key."""
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise RegistryError(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
            seen.add(key)
            _reject_duplicate_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item)
