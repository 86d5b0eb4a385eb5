"""A source system's client of the gateway: its own registration, its own token, FHIR over HTTP.

An adapter reaches the plan exactly as any other connected system does (SMART Backend
Services): `GatewayClient` signs a client assertion with the system's private key (ES384,
`private_key_jwt`) naming the professional it acts for and the purpose, exchanges it at the
token endpoint the gateway's SMART configuration names, and sends FHIR requests with the token
it got, asking again shortly before the token expires or when the gateway answers 401. Role
policy, consent and audit therefore apply to an import as to any request.

`SourceSystem` is what a deployment configures per source: the registered client id, the
private key file (a JWK, mode 0600, never sent anywhere), the acting professional and the
scopes. `GatewayClient.request(...)` answers the gateway's response as it is (the adapter
reads its OperationOutcome); `GatewayUnreachable` when no answer came, `TokenRefused` when
the gateway would not issue a token (its OAuth error named) or the key cannot be read.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.fhir.media import FHIR_JSON
from gateway.fhir.systems import JWT_BEARER, PRACTITIONER_ROLE_CLAIM, PURPOSE_OF_USE_CLAIM

__all__ = ["GatewayClient", "GatewayUnreachable", "SourceSystem", "TokenRefused", "outcome_text"]

_ASSERTION_LIFETIME = 240
"""Seconds a client assertion is valid (the gateway accepts at most five minutes)."""
_RENEW_BEFORE = 30
"""Seconds before a token's expiry at which a new one is asked for."""


class GatewayUnreachable(RuntimeError):
    """The gateway did not answer (connection refused, timed out); the message says which URL."""


class TokenRefused(RuntimeError):
    """The gateway's token endpoint refused the system; the message carries its OAuth error."""


@dataclass(frozen=True)
class SourceSystem:
    """One source system's registration with the gateway, and the professional it acts for."""

    client_id: str
    key_file: Path
    practitioner_role: str
    scope: str
    purpose: str = "TREAT"

    def key(self) -> ECKey:
        """The system's private signing key (a JWK file)."""
        return ECKey.import_key(json.loads(self.key_file.read_text(encoding="utf-8")))


class GatewayClient:
    """FHIR requests to the gateway at `base_url` (its FHIR base) as `system`; see the module doc.

    `transport` lets a test run the client against an in-process gateway; `clock` gives seconds."""

    def __init__(
        self,
        base_url: str,
        system: SourceSystem,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._clock = clock
        self._token: tuple[str, float] | None = None
        self._token_endpoint: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """`method` on `path` (relative to the FHIR base) with `body` as FHIR JSON; the answer.

        A 401 is retried once with a new token (the old one may have been revoked or expired)."""
        for fresh in (False, True):
            sent = {"Accept": FHIR_JSON, "Authorization": f"Bearer {await self._bearer(fresh)}", **(headers or {})}
            content = None
            if body is not None:
                sent["Content-Type"] = FHIR_JSON
                content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
            answer = await self._send(method, url, params=list(params), headers=sent, content=content)
            if answer.status_code != 401:
                return answer
        return answer

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def _bearer(self, fresh: bool) -> str:
        if not fresh and self._token is not None and self._token[1] - _RENEW_BEFORE > self._clock():
            return self._token[0]
        endpoint = await self._endpoint()
        now = int(self._clock())
        claims = {
            "iss": self.system.client_id,
            "sub": self.system.client_id,
            "aud": endpoint,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
            PRACTITIONER_ROLE_CLAIM: self.system.practitioner_role,
            PURPOSE_OF_USE_CLAIM: self.system.purpose,
        }
        try:
            key = self.system.key()
        except (OSError, ValueError) as exc:
            raise TokenRefused(
                f"{self.system.client_id} has no readable private key {self.system.key_file}: {exc}"
            ) from None
        assertion = jwt.encode({"alg": "ES384", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["ES384"])
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            "scope": self.system.scope,
        }
        answer = await self._send("POST", endpoint, data=form)
        granted = _json(answer)
        token = granted.get("access_token")
        if answer.status_code != 200 or not isinstance(token, str):
            error = granted.get("error_description") or granted.get("error") or answer.text[:200]
            raise TokenRefused(
                f"the gateway refused a token to {self.system.client_id} ({answer.status_code}): {error}"
            )
        lifetime = granted.get("expires_in")
        self._token = (token, self._clock() + (lifetime if isinstance(lifetime, int) else 60))
        return token

    async def _endpoint(self) -> str:
        """The token endpoint of the gateway's SMART configuration (read once)."""
        if self._token_endpoint is None:
            origin = httpx.URL(self.base_url).copy_with(path="/", query=None)
            answer = await self._send("GET", str(origin.join("/.well-known/smart-configuration")))
            endpoint = _json(answer).get("token_endpoint")
            if answer.status_code != 200 or not isinstance(endpoint, str):
                raise GatewayUnreachable(f"{self.base_url} has no SMART configuration naming a token endpoint")
            self._token_endpoint = endpoint
        return self._token_endpoint

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayUnreachable(f"the gateway did not answer {method} {url}: {exc}") from exc


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def outcome_text(answer: httpx.Response) -> str:
    """What the gateway's answer says: the texts of its OperationOutcome, or its status."""
    try:
        issues = answer.json().get("issue", [])
    except ValueError:
        issues = []
    texts = [str(i.get("diagnostics") or i.get("details", {}).get("text") or "") for i in issues if isinstance(i, dict)]
    return "; ".join(t for t in texts if t) or f"HTTP {answer.status_code}"
