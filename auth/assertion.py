"""Verification of private_key_jwt client assertions (RFC 7523 §3, SMART Backend Services).

A client authenticates with a JWT it signed with a key from its registered JWKS. An assertion
is accepted only if all of these hold, checked in this order:

1. it is a compact JWS whose header and payload are JSON objects;
2. the header's alg is ES384 or RS384 — never none, HS*, PS* or anything else, whatever key
   might fit;
3. iss names a registered client;
4. a key of that client's JWKS is selected: the one with the header's kid and the alg's key
   type; without kid, only if the client has exactly one key of that type;
5. the signature verifies with that key (only now is the payload trusted);
6. sub == iss; aud is the expected endpoint URL (a string, or a list containing it);
7. exp is present, has not passed, and lies at most 300 s ahead; if iat is present, exp - iat
   is at most 300 s and iat is not in the future; nbf, if present, has been reached (each
   comparison tolerates the clock leeway, at most 30 s);
8. jti is present and has never been used by this client (`auth.jti`).

Each refusal raises a specific `auth.errors.InvalidClient` subclass; anything unexpected
raises `AssertionUnverifiable` — an assertion is never accepted by accident. A jti is spent
only by an assertion that passed steps 1-7.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, RSAKey

from auth.clock import MAX_LEEWAY, Clock, check_leeway
from auth.errors import (
    AssertionExpired,
    AssertionLifetimeTooLong,
    AssertionNotYetValid,
    AssertionUnverifiable,
    BadSignature,
    ClaimMismatch,
    DisallowedAlgorithm,
    MalformedAssertion,
    MissingClaim,
    OAuthError,
    ReplayedAssertion,
    TemporarilyUnavailable,
    UnknownClient,
    UnknownSigningKey,
)
from auth.jti import JtiCache
from auth.registry import ClientRegistration, ClientRegistry, NotRegistered
from gateway.fhir.systems import JWT_BEARER

__all__ = [
    "ASSERTION_ALGORITHMS",
    "JWT_BEARER",
    "MAX_ASSERTION_LIFETIME",
    "AssertionVerifier",
    "VerifiedAssertion",
]


ASSERTION_ALGORITHMS = ("ES384", "RS384")
"""The signing algorithms SMART Backend Services allows for client assertions."""

MAX_ASSERTION_LIFETIME = 300
"""An assertion's exp may lie at most this many seconds ahead (and after its iat)."""

_KEY_TYPE = {"ES384": "EC", "RS384": "RSA"}
_MAX_ASSERTION_LENGTH = 16_384
_MAX_JTI_LENGTH = 256


@dataclass(frozen=True)
class VerifiedAssertion:
    """An assertion that passed every check: the client it authenticates and its claims.

    `claims` is the verified payload, read-only; Yhteys claims in it are still unchecked
    (see `auth.claims.read_acting_claims`).
    """

    client: ClientRegistration
    jti: str
    expires_at: float
    claims: Mapping[str, object]


class AssertionVerifier:
    """Checks client assertions against the registry, the clock and the jti memory."""

    def __init__(
        self, registry: ClientRegistry, jti_cache: JtiCache, clock: Clock, *, leeway: float = MAX_LEEWAY
    ) -> None:
        self._registry = registry
        self._jti_cache = jti_cache
        self._clock = clock
        self._leeway = check_leeway(leeway)

    async def verify(self, assertion: str, audience: str) -> VerifiedAssertion:
        """Verify `assertion` addressed to `audience` (the endpoint URL) and spend its jti.

        Raises an `InvalidClient` subclass on any fault, `TemporarilyUnavailable` if the jti
        memory fails. Returns only for an assertion the caller may treat as authenticated.
        """
        try:
            verified = self._check(assertion, audience)
        except OAuthError:
            raise
        except Exception as exc:
            raise AssertionUnverifiable("the client assertion could not be verified") from exc
        try:
            keep_until = verified.expires_at + self._leeway
            first = await self._jti_cache.first_use(verified.client.client_id, verified.jti, keep_until)
        except OAuthError:
            raise
        except Exception as exc:
            raise TemporarilyUnavailable("replay protection is unavailable; try again later") from exc
        if not first:
            raise ReplayedAssertion("this client assertion (its jti) has already been used")
        return verified

    def _check(self, assertion: str, audience: str) -> VerifiedAssertion:
        if not isinstance(assertion, str) or len(assertion) > _MAX_ASSERTION_LENGTH:
            raise MalformedAssertion("the client assertion is not a compact JWS of acceptable size")
        parts = assertion.split(".")
        if len(parts) != 3:
            raise MalformedAssertion("the client assertion is not a compact JWS (three dot-separated parts)")
        header = _json_object(parts[0])
        alg = header.get("alg")
        if alg not in ASSERTION_ALGORITHMS:
            raise DisallowedAlgorithm("client assertions must be signed with ES384 or RS384")
        issuer = _json_object(parts[1]).get("iss")
        if not isinstance(issuer, str):
            raise MissingClaim("the client assertion has no iss")
        client = self._registry.find(issuer)
        if isinstance(client, NotRegistered):
            raise UnknownClient("the client assertion's issuer is not a registered client")
        key = _select_key(client, header.get("kid"), str(alg))
        try:
            signed = jws.deserialize_compact(assertion, key, algorithms=[str(alg)])
        except BadSignatureError:
            raise BadSignature("the client assertion's signature does not verify with the registered key") from None
        except JoseError as exc:
            raise MalformedAssertion(f"the client assertion is not an acceptable JWS ({exc.error})") from None
        claims = json.loads(signed.payload or b"")
        if not isinstance(claims, dict):
            raise MalformedAssertion("the client assertion's payload is not a JSON object")
        return self._check_claims(client, claims, audience)

    def _check_claims(self, client: ClientRegistration, claims: dict[str, object], audience: str) -> VerifiedAssertion:
        now = self._clock()
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise ClaimMismatch("the client assertion's iss and sub must both be the client_id")
        _check_audience(claims.get("aud"), audience)
        expires_at = _time(claims, "exp")
        if expires_at is None:
            raise MissingClaim("the client assertion has no exp")
        if now >= expires_at + self._leeway:
            raise AssertionExpired("the client assertion has expired")
        if expires_at > now + MAX_ASSERTION_LIFETIME + self._leeway:
            raise AssertionLifetimeTooLong(f"the client assertion's exp is more than {MAX_ASSERTION_LIFETIME} s ahead")
        issued_at = _time(claims, "iat")
        if issued_at is not None:
            if expires_at - issued_at > MAX_ASSERTION_LIFETIME:
                raise AssertionLifetimeTooLong(f"the client assertion lives longer than {MAX_ASSERTION_LIFETIME} s")
            if issued_at > now + self._leeway:
                raise AssertionNotYetValid("the client assertion's iat is in the future")
        not_before = _time(claims, "nbf")
        if not_before is not None and not_before > now + self._leeway:
            raise AssertionNotYetValid("the client assertion is not valid yet (nbf)")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
            raise MissingClaim("the client assertion must carry a jti (a non-empty string)")
        return VerifiedAssertion(client=client, jti=jti, expires_at=expires_at, claims=MappingProxyType(claims))


def _select_key(client: ClientRegistration, kid: object, alg: str) -> ECKey | RSAKey:
    key_type = _KEY_TYPE[alg]
    candidates = [key for key in client.keys if key.key_type == key_type]
    if kid is None:
        if len(candidates) == 1 and isinstance(candidates[0], (ECKey, RSAKey)):
            return candidates[0]
        raise UnknownSigningKey(f"the client assertion has no kid and the client has no single {key_type} key")
    if not isinstance(kid, str):
        raise MalformedAssertion("the client assertion's kid is not a string")
    for key in candidates:
        if key.kid == kid and isinstance(key, (ECKey, RSAKey)):
            return key
    raise UnknownSigningKey(f"no {key_type} key with this kid is registered for the client")


def _check_audience(aud: object, audience: str) -> None:
    if aud is None:
        raise MissingClaim("the client assertion has no aud")
    if aud == audience or (isinstance(aud, list) and audience in aud and all(isinstance(a, str) for a in aud)):
        return
    raise ClaimMismatch("the client assertion's aud is not this endpoint's URL")


def _time(claims: Mapping[str, object], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MissingClaim(f"the client assertion's {name} is not a number of seconds")
    return float(value)


def _json_object(segment: str) -> dict[str, object]:
    try:
        data: object = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise MalformedAssertion("the client assertion is not a JWS with JSON header and payload") from None
    if not isinstance(data, dict):
        raise MalformedAssertion("the client assertion is not a JWS with JSON header and payload")
    return data
