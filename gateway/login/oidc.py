"""The identity provider as a relying party sees it: discovery, the authorization request, the code
exchange and the ID token check (OpenID Connect Core 1.0, authorization code flow with PKCE, RFC 7636).

`OidcProvider(config, client)`:

- `metadata()` reads `<issuer>/.well-known/openid-configuration` once (kept for the process)
  and refuses one whose `issuer` is not exactly the configured issuer, or that lacks the
  authorization, token or JWKS endpoint;
- `authorization_url(request)` is where the browser goes: response_type code, the client id,
  the registered redirect URI, scope `openid`, and the request's `state`, `nonce` and the S256
  challenge of its `verifier`;
- `redeem(code, request)` exchanges the code at the token endpoint (client_secret_basic, with
  the PKCE verifier) and returns the checked ID token's claims: signed (RS256, PS256 or ES256)
  by a key of the provider's JWKS (read again once when the kid is unknown: keys rotate), iss
  == issuer, aud holding the client id (and azp == client id when aud names others), exp in
  the future, iat not in the future (a leeway of 30 s), and nonce == the request's nonce.

Every failure is `LoginFailed` with a reason safe to show and log; a provider that does not
answer is `ProviderUnavailable`. The state, nonce and verifier are 256-bit random values
(`LoginRequest.new`). The hand-written parts are the three HTTP calls; the JOSE work is joserfc's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from auth.clock import Clock, system_clock

__all__ = ["LoginFailed", "LoginRequest", "OidcConfig", "OidcProvider", "ProviderUnavailable"]

_ALGORITHMS = ("RS256", "PS256", "ES256")
_LEEWAY = 30
_TIMEOUT = 15.0


class LoginFailed(Exception):
    """The login cannot go on; `reason` says why in words safe to show and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(LoginFailed):
    """The identity provider did not answer, or answered with something unusable."""


@dataclass(frozen=True)
class OidcConfig:
    """The relying party's registration at the provider."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str


@dataclass(frozen=True)
class LoginRequest:
    """One authorization request's secrets, kept by the gateway until its callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> LoginRequest:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        """The PKCE S256 code challenge of `verifier`."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    """The provider of `config`, reached with `client` (the caller owns it); see the module doc."""

    def __init__(self, config: OidcConfig, client: httpx.AsyncClient, clock: Clock = system_clock) -> None:
        self.config = config
        self._client = client
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> Mapping[str, Any]:
        """The provider's discovery document (read once)."""
        if self._metadata is None:
            found = await self._get_json(f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration")
            if found.get("issuer") != self.config.issuer:
                raise ProviderUnavailable("the identity provider names another issuer than the configured one")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(name), str):
                    raise ProviderUnavailable(f"the identity provider's metadata lacks {name}")
            self._metadata = found
        return self._metadata

    async def authorization_url(self, request: LoginRequest, *, language: str) -> str:
        """Where the browser is sent to log in for `request` (`language` becomes ui_locales)."""
        endpoint = str((await self.metadata())["authorization_endpoint"])
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": "openid",
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.challenge,
            "code_challenge_method": "S256",
            "ui_locales": language,
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def end_session_url(self, id_token: str) -> str | None:
        """Where the browser is sent to end its session at the provider (None if it has no such endpoint)."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        query = {
            "id_token_hint": id_token,
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": self.config.post_logout_redirect_uri,
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def redeem(self, code: str, request: LoginRequest) -> tuple[dict[str, Any], str]:
        """The checked ID token's claims and the ID token itself, for `code` of `request`."""
        endpoint = str((await self.metadata())["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": request.verifier,
        }
        try:
            answer = await self._client.post(
                endpoint,
                data=form,
                auth=(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
                timeout=_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider did not answer ({exc.__class__.__name__})") from None
        if answer.status_code != 200:
            raise LoginFailed(f"the identity provider refused the code ({_oauth_error(answer)})")
        body = _json_object(answer)
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailed("the identity provider answered without an ID token")
        return await self._check(id_token, request.nonce), id_token

    async def _check(self, id_token: str, nonce: str) -> dict[str, Any]:
        token = await self._decode(id_token)
        now = int(self._clock())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=_LEEWAY,
            iss={"essential": True, "value": self.config.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            raise LoginFailed(f"the ID token is not valid ({exc.error})") from None
        audience = token.claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.config.client_id not in audiences:
            raise LoginFailed("the ID token was not issued to this gateway")
        if len(audiences) > 1 and token.claims.get("azp") != self.config.client_id:
            raise LoginFailed("the ID token names other audiences and not this gateway as its party")
        return dict(token.claims)

    async def _decode(self, id_token: str) -> jwt.Token:
        for refresh in (False, True):
            keys = await self._key_set(refresh)
            try:
                return jwt.decode(id_token, keys, algorithms=list(_ALGORITHMS))
            except InvalidKeyIdError:  # no key of the set has the token's kid: read the set again
                continue
            except JoseError as exc:
                raise LoginFailed(f"the ID token's signature does not verify ({exc.error})") from None
        raise LoginFailed("the ID token is signed with a key the identity provider does not publish")

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            found = await self._get_json(str((await self.metadata())["jwks_uri"]))
            try:
                self._keys = KeySet.import_key_set(found)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnavailable(f"the identity provider's keys cannot be read ({exc})") from None
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = await self._client.get(url, headers={"Accept": "application/json"}, timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider did not answer ({exc.__class__.__name__})") from None
        if answer.status_code != 200:
            raise ProviderUnavailable(f"the identity provider answered HTTP {answer.status_code}")
        return _json_object(answer)


def _json_object(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        raise ProviderUnavailable("the identity provider answered with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise ProviderUnavailable("the identity provider answered with JSON that is not an object")
    return body


def _oauth_error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error)[:60] if isinstance(error, str) else f"HTTP {answer.status_code}"
