"""The client registry: a good file loads once into frozen values; every fault stops start-up."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from auth.registry import ClientRegistration, NotRegistered, RegistryError, load_registry, parse_registry
from gateway.fhir.codes import Sector
from tests.unit.auth.support import PSYCH, YOUTH, YOUTH_ORG, b64url, public_jwk, registry_data

Data = dict[str, object]


def _write(tmp_path: Path, data: Data) -> Path:
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _first_client(data: Data) -> dict[str, object]:
    clients = data["clients"]
    assert isinstance(clients, list)
    first = clients[0]
    assert isinstance(first, dict)
    return first


def test_a_good_registry_loads(tmp_path: Path, youth_key: ECKey, psych_key: RSAKey) -> None:
    registry = load_registry(_write(tmp_path, registry_data(youth_key, psych_key)))
    youth = registry.find(YOUTH)
    assert isinstance(youth, ClientRegistration)
    assert youth.organization == YOUTH_ORG
    assert youth.organization_oid == "1.2.246.10.99990004.10.0"
    assert youth.sector is Sector.MUNICIPAL_YOUTH_SERVICES
    assert [str(s) for s in youth.allowed_scopes] == ["system/CarePlan.rs", "system/CareTeam.rs", "system/Goal.rs"]
    assert [key.kid for key in youth.keys] == ["youth-1"]
    assert all(not key.is_private for key in youth.keys)
    assert isinstance(registry.find(PSYCH), ClientRegistration)
    assert registry.find("nobody") == NotRegistered("nobody")
    assert "system/*.rs" in registry.scopes_supported
    assert list(registry.scopes_supported) == sorted(registry.scopes_supported)


def test_a_system_may_be_given_a_name_for_people(youth_key: ECKey, psych_key: RSAKey) -> None:
    data = registry_data(youth_key, psych_key)
    _first_client(data)["name"] = "  Nuorisopalvelujen asiakasjärjestelmä "
    registry = parse_registry(data, base_dir=Path("."))
    youth, psych = registry.find(YOUTH), registry.find(PSYCH)
    assert isinstance(youth, ClientRegistration) and isinstance(psych, ClientRegistration)
    assert youth.name == "Nuorisopalvelujen asiakasjärjestelmä"
    assert psych.name == ""  # none given: the client_id stands for it


def test_jwks_file_is_read_relative_to_the_registry(tmp_path: Path, youth_key: ECKey, psych_key: RSAKey) -> None:
    data = registry_data(youth_key, psych_key)
    client = _first_client(data)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "youth.jwks.json").write_text(json.dumps(client.pop("jwks")), encoding="utf-8")
    client["jwks_file"] = "keys/youth.jwks.json"
    registry = load_registry(_write(tmp_path, data))
    youth = registry.find(YOUTH)
    assert isinstance(youth, ClientRegistration)
    assert [key.kid for key in youth.keys] == ["youth-1"]


def test_a_key_without_kid_gets_its_thumbprint(youth_key: ECKey, psych_key: RSAKey) -> None:
    data = registry_data(youth_key, psych_key)
    jwk = public_jwk(youth_key)
    del jwk["kid"]
    _first_client(data)["jwks"] = {"keys": [jwk]}
    youth = parse_registry(data, base_dir=Path(".")).find(YOUTH)
    assert isinstance(youth, ClientRegistration)
    assert [key.kid for key in youth.keys] == [youth_key.thumbprint()]


def _set(key: str, value: object) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        _first_client(data)[key] = value

    return change


def _drop(key: str) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        del _first_client(data)[key]

    return change


def _key(jwk: Mapping[str, object]) -> Callable[[Data], None]:
    return _set("jwks", {"keys": [dict(jwk)]})


def _duplicate_client(data: Data) -> None:
    clients = data["clients"]
    assert isinstance(clients, list)
    clients.append(copy.deepcopy(clients[0]))


def _missing_jwks_file(data: Data) -> None:
    client = _first_client(data)
    del client["jwks"]
    client["jwks_file"] = "none.json"


@dataclass(frozen=True)
class BadCase:
    name: str
    change: Callable[[Data], None]
    want_in_message: tuple[str, ...]


_P256 = public_jwk(ECKey.generate_key("P-256", parameters={"kid": "p256"}, private=True))
_SMALL = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
_RSA1024: dict[str, object] = {
    "kty": "RSA",
    "kid": "small",
    "n": b64url(_SMALL.n.to_bytes(128, "big")),
    "e": b64url(_SMALL.e.to_bytes(3, "big")),
}
_OKP = public_jwk(OKPKey.generate_key("Ed25519", parameters={"kid": "ed"}, private=True))
_OCT = dict(OctKey.generate_key(256, parameters={"kid": "hmac"}).as_dict(private=True))
_PRIVATE_EC = dict(ECKey.generate_key("P-384", parameters={"kid": "oops"}, private=True).as_dict(private=True))

BAD_CASES = [
    BadCase("unknown key", _set("scopes", ["system/CarePlan.rs"]), (YOUTH, "unknown keys", "scopes")),
    BadCase("missing organization", _drop("organization"), (YOUTH, "missing", "organization")),
    BadCase("missing allowed_scopes", _drop("allowed_scopes"), (YOUTH, "allowed_scopes")),
    BadCase("missing client_id", _drop("client_id"), ("clients[0]", "client_id")),
    BadCase("no keys at all", _drop("jwks"), (YOUTH, "jwks")),
    BadCase("both jwks and jwks_file", _set("jwks_file", "x.json"), (YOUTH, "exactly one of jwks and jwks_file")),
    BadCase("jwks_file missing", _missing_jwks_file, (YOUTH, "none.json")),
    BadCase("bad scope syntax", _set("allowed_scopes", ["system/CarePlan.sr"]), (YOUTH, "system/CarePlan.sr")),
    BadCase("scope not a list", _set("allowed_scopes", "system/CarePlan.rs"), (YOUTH, "allowed_scopes")),
    BadCase("empty scopes", _set("allowed_scopes", []), (YOUTH, "allowed_scopes")),
    BadCase("unknown sector", _set("sector", "police"), (YOUTH, "sector", "police")),
    BadCase("organization not a reference", _set("organization", "demo-org"), (YOUTH, "Organization/<id>")),
    BadCase("oid not an oid", _set("organization_oid", "urn:oid:1.2.3"), (YOUTH, "organization_oid")),
    BadCase("client_id with spaces", _set("client_id", "youth system"), ("youth system", "client_id")),
    BadCase("private key material", _key(_PRIVATE_EC), (YOUTH, "private key material", "'d'")),
    BadCase("symmetric key", _key(_OCT), (YOUTH, "private key material")),
    BadCase("unsupported key type", _key(_OKP), (YOUTH, "unsupported key type", "OKP")),
    BadCase("wrong curve", _key(_P256), (YOUTH, "P-256")),
    BadCase("RSA too small", _key(_RSA1024), (YOUTH, "1024 bits")),
    BadCase("alg that does not fit", _key({**_P256, "crv": "P-384", "alg": "RS384"}), (YOUTH, "alg")),
    BadCase("encryption key", _key({**_P256, "use": "enc"}), (YOUTH, "use must be 'sig'")),
    BadCase(
        "broken key",
        _key({"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA", "kid": "k"}),
        (YOUTH, "not a valid EC"),
    ),
    BadCase("empty key set", _set("jwks", {"keys": []}), (YOUTH, "at least one key")),
    BadCase("duplicate client_id", _duplicate_client, (YOUTH, "registered twice")),
    BadCase("empty name", _set("name", " "), (YOUTH, "name must be 1-200 printable characters")),
    BadCase("name on two lines", _set("name", "a\nb"), (YOUTH, "name must be 1-200 printable characters")),
    BadCase("name not text", _set("name", 7), (YOUTH, "name must be a non-empty string")),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda case: case.name)
def test_a_bad_registry_stops_startup(case: BadCase, tmp_path: Path, youth_key: ECKey, psych_key: RSAKey) -> None:
    data = registry_data(youth_key, psych_key)
    case.change(data)
    with pytest.raises(RegistryError) as caught:
        load_registry(_write(tmp_path, data))
    for fragment in case.want_in_message:
        assert fragment in str(caught.value)


def test_two_keys_with_one_kid_are_refused(youth_key: ECKey, psych_key: RSAKey) -> None:
    data = registry_data(youth_key, psych_key)
    other = public_jwk(ECKey.generate_key("P-384", parameters={"kid": "youth-1"}, private=True))
    _first_client(data)["jwks"] = {"keys": [public_jwk(youth_key), other]}
    with pytest.raises(RegistryError, match="share a kid"):
        parse_registry(data, base_dir=Path("."))


@pytest.mark.parametrize(
    "text",
    [
        "clients: []\n",
        "[]\n",
        "clients:\n  - 1\n",
        "clients: []\nextra: 1\n",
        "clients:\n  - client_id: a\n    client_id: b\n",
        "clients: [\n",
    ],
    ids=[
        "no clients",
        "not a mapping",
        "entry not a mapping",
        "unknown top-level key",
        "repeated YAML key",
        "not YAML",
    ],
)
def test_a_malformed_file_stops_startup(tmp_path: Path, text: str) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError):
        load_registry(path)


def test_a_missing_file_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "absent.yaml")
