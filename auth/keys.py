"""The authorization server's own signing keys: the current one, and retired ones still published.

Access tokens are signed ES256 with an EC P-256 key. P-256 is chosen over P-384 because the
gateway verifies every token: an ES256 verification costs about 0.06 ms of CPU against about
0.6-0.8 ms for ES384, roughly ten times less (STANDARDS.md, "Performance facts").

`SigningKeys` signs with its current key and remembers, per key, the latest exp it signed.
`rotate(new_key)` makes `new_key` current; the old key's public half stays published (JWKS,
verification) until every token it signed has expired plus `MAX_LEEWAY`, after which
`prune(now)` drops it. The JWKS never contains private members.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

from auth.clock import MAX_LEEWAY

__all__ = [
    "ACCESS_TOKEN_ALGORITHM",
    "ACCESS_TOKEN_TYPE",
    "SigningKeyError",
    "SigningKeys",
    "generate_signing_key",
    "load_signing_key",
]

ACCESS_TOKEN_ALGORITHM = "ES256"
"""The only algorithm access tokens are signed and verified with."""

ACCESS_TOKEN_TYPE = "at+jwt"
"""The `typ` header of access tokens (RFC 9068), so no other JWT passes for one."""

_CURVE = "P-256"


class SigningKeyError(ValueError):
    """A signing key is not an EC P-256 private key, or its file is unusable or unsafe."""


def generate_signing_key() -> ECKey:
    """A fresh EC P-256 private key whose kid is its RFC 7638 thumbprint."""
    key = ECKey.generate_key(_CURVE, private=True)
    key.ensure_kid()
    return key


def load_signing_key(path: Path) -> ECKey:
    """The key stored at `path` (PKCS#8 PEM, or a private JWK if the name ends .json / .jwk).

    If the file does not exist, a new key is generated and written there with mode 0600
    (atomically: concurrent starters end up with the same key). An existing file readable by
    group or others is refused, as is anything but an EC P-256 private key.
    """
    try:
        if not path.exists():
            _create_key_file(path)
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read or create the signing key ({exc.__class__.__name__})") from exc
    if mode & 0o077:
        raise SigningKeyError(f"{path}: the signing key file is readable by others; chmod 600 it")
    try:
        if _is_jwk_file(path):
            key = ECKey.import_key(json.loads(data))
        else:
            key = ECKey.import_key(data)
    except Exception as exc:  # joserfc and cryptography raise many kinds; all mean "not a key"
        raise SigningKeyError(f"{path}: not an EC private key ({exc.__class__.__name__})") from None
    _check_signing_key(key)
    key.ensure_kid()
    return key


@dataclass(frozen=True)
class _Retired:
    key: ECKey
    retire_at: float


class SigningKeys:
    """The current signing key plus retired public keys; safe to share between threads."""

    def __init__(self, current: ECKey) -> None:
        _check_signing_key(current)
        current.ensure_kid()
        self._lock = threading.Lock()
        self._current = current
        self._current_public = _public_copy(current)
        self._latest_exp: float | None = None
        self._retired: dict[str, _Retired] = {}

    @property
    def current_kid(self) -> str:
        """The kid new tokens are signed with."""
        with self._lock:
            return str(self._current.kid)

    def sign(self, claims: Mapping[str, object]) -> str:
        """Sign `claims` (which must hold a numeric exp) as an ES256 `at+jwt` with the current kid."""
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise ValueError("an access token needs a numeric exp")
        with self._lock:
            header = {"alg": ACCESS_TOKEN_ALGORITHM, "kid": str(self._current.kid), "typ": ACCESS_TOKEN_TYPE}
            token = jwt.encode(header, dict(claims), self._current, algorithms=[ACCESS_TOKEN_ALGORITHM])
            self._latest_exp = exp if self._latest_exp is None else max(self._latest_exp, exp)
            return token

    def rotate(self, new_key: ECKey) -> None:
        """Make `new_key` current; keep the old public key until its tokens have expired."""
        _check_signing_key(new_key)
        new_key.ensure_kid()
        with self._lock:
            if new_key.kid == self._current.kid or new_key.kid in self._retired:
                raise SigningKeyError("the new signing key has the kid of a key already in use")
            if self._latest_exp is not None:
                retired = _Retired(self._current_public, self._latest_exp + MAX_LEEWAY)
                self._retired[str(self._current.kid)] = retired
            self._current = new_key
            self._current_public = _public_copy(new_key)
            self._latest_exp = None

    def prune(self, now: float) -> tuple[str, ...]:
        """Forget retired keys all of whose tokens expired before `now`; return their kids."""
        with self._lock:
            gone = tuple(kid for kid, retired in self._retired.items() if retired.retire_at <= now)
            for kid in gone:
                del self._retired[kid]
            return gone

    def verification_key(self, kid: str) -> ECKey | None:
        """The public key for `kid` (current or retired-but-not-pruned), or None if there is none."""
        with self._lock:
            if kid == self._current.kid:
                return self._current_public
            retired = self._retired.get(kid)
            return retired.key if retired is not None else None

    def jwks(self) -> dict[str, list[dict[str, object]]]:
        """The public JWK Set: current key first, then retired ones not yet pruned."""
        with self._lock:
            keys = [self._current_public, *(retired.key for retired in self._retired.values())]
            return {"keys": [_public_jwk(key) for key in keys]}


def _public_jwk(key: ECKey) -> dict[str, object]:
    members = {name: value for name, value in key.as_dict(private=False).items() if name != "d"}
    return {**members, "use": "sig", "alg": ACCESS_TOKEN_ALGORITHM, "kid": str(key.kid)}


def _public_copy(key: ECKey) -> ECKey:
    public = ECKey.import_key(key.as_dict(private=False))
    public.ensure_kid()
    return public


def _check_signing_key(key: ECKey) -> None:
    if not isinstance(key, ECKey) or key.curve_name != _CURVE or not key.is_private:
        raise SigningKeyError("the signing key must be an EC P-256 private key")


def _is_jwk_file(path: Path) -> bool:
    return path.suffix.lower() in (".json", ".jwk")


def _create_key_file(path: Path) -> None:
    key = generate_signing_key()
    if _is_jwk_file(path):
        data = json.dumps(key.as_dict(private=True)).encode()
    else:
        data = key.as_pem(private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another starter won the race; everyone uses its key
    finally:
        temporary.unlink(missing_ok=True)
