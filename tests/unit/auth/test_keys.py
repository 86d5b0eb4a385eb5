"""The server's signing keys: ES256 P-256, persisted 0600, rotated without breaking live tokens."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from auth.keys import SigningKeyError, SigningKeys, generate_signing_key, load_signing_key


def test_a_generated_key_is_private_p256_with_a_thumbprint_kid() -> None:
    key = generate_signing_key()
    assert key.curve_name == "P-256"
    assert key.is_private
    assert key.kid == key.thumbprint()


@pytest.mark.parametrize("name", ["signing.pem", "signing.jwk", "signing.json"])
def test_a_missing_key_file_is_created_0600_and_reused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "keys" / name
    first = load_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path).kid == first.kid
    assert list(path.parent.iterdir()) == [path]


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    load_signing_key(path)
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signing_key(path)


def test_a_p384_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.json"
    path.write_text(json.dumps(ECKey.generate_key("P-384", private=True).as_dict(private=True)))
    path.chmod(0o600)
    with pytest.raises(SigningKeyError, match="P-256"):
        load_signing_key(path)


def test_a_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError):
        load_signing_key(path)


def test_only_private_p256_keys_sign() -> None:
    with pytest.raises(SigningKeyError):
        SigningKeys(ECKey.generate_key("P-384", private=True))
    public = ECKey.import_key(generate_signing_key().as_dict(private=False))
    with pytest.raises(SigningKeyError):
        SigningKeys(public)


def test_the_jwks_has_no_private_members() -> None:
    keys = SigningKeys(generate_signing_key())
    keys.sign({"exp": 100})
    keys.rotate(generate_signing_key())
    published = keys.jwks()["keys"]
    assert len(published) == 2
    for jwk in published:
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk)
        assert jwk["alg"] == "ES256" and jwk["use"] == "sig" and jwk["crv"] == "P-256"


def test_a_rotated_key_stays_until_its_last_token_expired() -> None:
    old, new = generate_signing_key(), generate_signing_key()
    keys = SigningKeys(old)
    keys.sign({"exp": 1000})
    keys.sign({"exp": 1300})
    keys.rotate(new)
    assert keys.current_kid == new.kid
    assert [jwk["kid"] for jwk in keys.jwks()["keys"]] == [new.kid, old.kid]
    assert keys.prune(1300 + 29) == ()
    verification = keys.verification_key(str(old.kid))
    assert verification is not None and not verification.is_private
    assert keys.prune(1300 + 30) == (old.kid,)
    assert keys.verification_key(str(old.kid)) is None
    assert [jwk["kid"] for jwk in keys.jwks()["keys"]] == [new.kid]


def test_a_key_that_never_signed_is_dropped_at_rotation() -> None:
    old, new = generate_signing_key(), generate_signing_key()
    keys = SigningKeys(old)
    keys.rotate(new)
    assert keys.verification_key(str(old.kid)) is None


def test_rotating_to_a_key_in_use_is_refused() -> None:
    key = generate_signing_key()
    keys = SigningKeys(key)
    with pytest.raises(SigningKeyError):
        keys.rotate(key)


def test_the_current_key_is_verified_through_its_public_half() -> None:
    key = generate_signing_key()
    verification = SigningKeys(key).verification_key(str(key.kid))
    assert verification is not None and not verification.is_private
