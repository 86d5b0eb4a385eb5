"""Everything the authorization server needs, in one frozen `AuthConfig` (all of it injectable).

The URLs are the public, absolute ones clients use: the token endpoint URL is what client
assertions must name as aud, the introspection URL likewise for introspecting callers, and
`fhir_audience` is the gateway's FHIR base, the aud of every access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from auth.clock import MAX_LEEWAY, Clock, check_leeway, system_clock
from auth.jti import JtiCache
from auth.keys import SigningKeys
from auth.professionals import ProfessionalDirectory
from auth.registry import ClientRegistry
from auth.tokens import DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME

__all__ = [
    "INTROSPECTION_PATH",
    "JWKS_PATH",
    "SMART_CONFIGURATION_PATH",
    "TOKEN_PATH",
    "AuthConfig",
]

TOKEN_PATH = "/auth/token"
INTROSPECTION_PATH = "/auth/introspect"
JWKS_PATH = "/auth/jwks"
SMART_CONFIGURATION_PATH = "/.well-known/smart-configuration"


@dataclass(frozen=True)
class AuthConfig:
    """The authorization server's settings and collaborators; checked on construction.

    Raises `ValueError` for a URL that is not absolute http(s), a token lifetime outside
    1..3600 s, or a leeway outside 0..30 s.
    """

    issuer: str
    token_endpoint: str
    introspection_endpoint: str
    jwks_uri: str
    fhir_audience: str
    registry: ClientRegistry
    signing_keys: SigningKeys
    jti_cache: JtiCache
    professionals: ProfessionalDirectory
    clock: Clock = system_clock
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    assertion_leeway: float = MAX_LEEWAY
    token_leeway: float = 10.0

    def __post_init__(self) -> None:
        for name in ("issuer", "token_endpoint", "introspection_endpoint", "jwks_uri", "fhir_audience"):
            url = urlsplit(getattr(self, name))
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValueError(f"AuthConfig.{name} must be an absolute http(s) URL")
        if not 0 < self.token_lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"AuthConfig.token_lifetime must be 1..{MAX_TOKEN_LIFETIME} s")
        check_leeway(self.assertion_leeway)
        check_leeway(self.token_leeway)

    @classmethod
    def at(
        cls,
        issuer: str,
        *,
        fhir_audience: str,
        registry: ClientRegistry,
        signing_keys: SigningKeys,
        jti_cache: JtiCache,
        professionals: ProfessionalDirectory,
        clock: Clock = system_clock,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> AuthConfig:
        """A config whose endpoint URLs are `issuer` followed by this package's paths."""
        base = issuer.rstrip("/")
        return cls(
            issuer=base,
            token_endpoint=base + TOKEN_PATH,
            introspection_endpoint=base + INTROSPECTION_PATH,
            jwks_uri=base + JWKS_PATH,
            fhir_audience=fhir_audience,
            registry=registry,
            signing_keys=signing_keys,
            jti_cache=jti_cache,
            professionals=professionals,
            clock=clock,
            token_lifetime=token_lifetime,
        )
