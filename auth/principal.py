"""The resource-server side: a bearer token becomes a `Principal`, or is refused with `InvalidToken`.

`TokenVerifier.authenticate` accepts only a token that
- is a compact JWS with header typ "at+jwt", alg ES256 and a kid naming one of the
  `SigningKeys` public keys (current, or retired and not yet pruned);
- has a signature that verifies with that key (only then is the payload read);
- has iss == the configured issuer and aud == (or, as a list, contains) the configured
  audience; exp not passed and iat not in the future, within the leeway (at most 30 s);
- carries every claim of `auth.tokens.AccessTokenClaims`, well formed: sub == client_id,
  canonical SMART v2 scopes, a known sector and purpose, btg_reason exactly with BTG.

A verified token is cached under the SHA-256 of its text until its exp, so its signature is
checked once; the cache is bounded (least recently used entries leave first). A cached
token stays valid after its key is pruned — pruning only happens once its tokens expired.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from auth.claims import ActingClaims
from auth.clock import Clock, check_leeway
from auth.errors import OAuthError
from auth.keys import ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE, SigningKeys
from auth.scopes import Scope, ScopeSyntaxError, parse_scope
from gateway.fhir.codes import PurposeOfUse, Sector

__all__ = ["CitizenPrincipal", "InvalidToken", "Principal", "TokenVerifier"]

_MAX_TOKEN_LENGTH = 16_384
_DEFAULT_LEEWAY = 10.0


class InvalidToken(Exception):
    """The bearer token is refused; `reason` says why in words safe to log and return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client system, its organisation, the acting professional, the grant.

    `btg_reason` is "" unless `purpose_of_use` is BTG. Times are POSIX seconds.
    """

    client_id: str
    organization: str
    organization_oid: str
    sector: Sector
    practitioner_role: str
    team_roles: tuple[str, ...]
    scopes: tuple[Scope, ...]
    purpose_of_use: PurposeOfUse
    btg_reason: str
    jti: str
    expires_at: int
    issued_at: int


@dataclass(frozen=True)
class CitizenPrincipal:
    """A citizen acting for themself: a client logged in through the county's identity provider.

    `person` is who acts and `patient` whose data it is ("Patient/<id>", the same client);
    `role` the team-role code they act in (`client`). `client_id` is the system they act
    through (the gateway's pages). `jti` names the session in the audit trail. Times are POSIX
    seconds. There is no organisation, sector or professional: the citizen decider, not the
    role policy, decides their requests.
    """

    client_id: str
    person: str
    patient: str
    role: str
    jti: str
    issued_at: int
    expires_at: int


class TokenVerifier:
    """Verifies access tokens signed by `keys` for `audience` by `issuer`; thread-safe."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        audience: str,
        clock: Clock,
        leeway: float = _DEFAULT_LEEWAY,
        cache_size: int = 10_000,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be positive")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._leeway = check_leeway(leeway)
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, Principal] = OrderedDict()

    def authenticate(self, bearer_token: str) -> Principal:
        """The principal of `bearer_token`; raise `InvalidToken` for anything less than valid.

        Any unexpected error inside verification is also `InvalidToken` (fail closed).
        """
        if not isinstance(bearer_token, str) or not bearer_token or len(bearer_token) > _MAX_TOKEN_LENGTH:
            raise InvalidToken("the bearer token is missing or too long")
        digest = hashlib.sha256(bearer_token.encode()).digest()
        now = self._clock()
        cached = self._cached(digest, now)
        if cached is not None:
            return cached
        try:
            principal = self._verify(bearer_token, now)
        except InvalidToken:
            raise
        except Exception:
            raise InvalidToken("the bearer token could not be verified") from None
        self._remember(digest, principal)
        return principal

    def _cached(self, digest: bytes, now: float) -> Principal | None:
        with self._lock:
            principal = self._cache.get(digest)
            if principal is None:
                return None
            if now >= principal.expires_at + self._leeway:
                del self._cache[digest]
                raise InvalidToken("the bearer token has expired")
            self._cache.move_to_end(digest)
            return principal

    def _remember(self, digest: bytes, principal: Principal) -> None:
        with self._lock:
            self._cache[digest] = principal
            self._cache.move_to_end(digest)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _verify(self, token: str, now: float) -> Principal:
        try:
            header = extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            raise InvalidToken("the bearer token is not a compact JWS") from None
        if header.get("alg") != ACCESS_TOKEN_ALGORITHM or header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("the bearer token is not an ES256 at+jwt access token")
        kid = header.get("kid")
        key = self._keys.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("the bearer token's kid names no current signing key")
        try:
            claims = jwt.decode(token, key, algorithms=[ACCESS_TOKEN_ALGORITHM]).claims
        except JoseError:
            raise InvalidToken("the bearer token's signature does not verify") from None
        return self._principal(claims, now)

    def _principal(self, claims: dict[str, object], now: float) -> Principal:
        if claims.get("iss") != self._issuer:
            raise InvalidToken("the bearer token was issued by someone else")
        aud = claims.get("aud")
        if aud != self._audience and not (isinstance(aud, list) and self._audience in aud):
            raise InvalidToken("the bearer token is meant for another audience")
        expires_at = _integer(claims, "exp")
        issued_at = _integer(claims, "iat")
        if now >= expires_at + self._leeway:
            raise InvalidToken("the bearer token has expired")
        if issued_at > now + self._leeway:
            raise InvalidToken("the bearer token was issued in the future")
        client_id = _text(claims, "client_id")
        if claims.get("sub") != client_id:
            raise InvalidToken("the bearer token's sub is not its client_id")
        try:
            scopes = tuple(parse_scope(word) for word in _text(claims, "scope").split(" "))
            acting = ActingClaims(
                practitioner_role=_text(claims, "practitioner_role"),
                purpose_of_use=PurposeOfUse(_text(claims, "purpose_of_use")),
                btg_reason=_text(claims, "btg_reason") if "btg_reason" in claims else "",
            )
            sector = Sector(_text(claims, "sector"))
        except (ScopeSyntaxError, OAuthError, ValueError):
            raise InvalidToken("the bearer token's claims are malformed") from None
        team_roles = claims.get("team_roles")
        if not isinstance(team_roles, list) or not all(isinstance(role, str) for role in team_roles):
            raise InvalidToken("the bearer token's team_roles is not a list of codes")
        return Principal(
            client_id=client_id,
            organization=_text(claims, "organization"),
            organization_oid=_text(claims, "organization_oid"),
            sector=sector,
            practitioner_role=acting.practitioner_role,
            team_roles=tuple(team_roles),
            scopes=scopes,
            purpose_of_use=acting.purpose_of_use,
            btg_reason=acting.btg_reason,
            jti=_text(claims, "jti"),
            expires_at=expires_at,
            issued_at=issued_at,
        )


def _text(claims: dict[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"the bearer token has no {name}")
    return value


def _integer(claims: dict[str, object], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken(f"the bearer token has no integer {name}")
    return value
