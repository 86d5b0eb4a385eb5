"""The OAuth errors of the authorization server, one hierarchy (RFC 6749 §5.2).

Each class names its OAuth `error` code and HTTP `status_code` as class attributes; an
instance carries a human `description` that never contains a token, an assertion, a key or
any other secret. The server turns any `OAuthError` into `{"error", "error_description"}`.

    OAuthError
    ├── InvalidRequest            invalid_request           400  malformed request
    │   └── InvalidActingClaims                                  bad Yhteys claims in the assertion
    ├── InvalidClient             invalid_client            401  client authentication failed
    │   ├── MalformedAssertion                                   not a compact JWS with JSON parts
    │   ├── DisallowedAlgorithm                                  alg not ES384 / RS384
    │   ├── UnknownClient                                        iss is not a registered client
    │   ├── UnknownSigningKey                                    no registered key fits kid and alg
    │   ├── BadSignature                                         signature does not verify
    │   ├── ClaimMismatch                                        iss ≠ sub, aud wrong, client_id wrong
    │   ├── MissingClaim                                         exp, jti, iss, sub or aud absent / mistyped
    │   ├── AssertionExpired                                     exp has passed
    │   ├── AssertionLifetimeTooLong                             exp more than 300 s ahead
    │   ├── AssertionNotYetValid                                 nbf / iat in the future
    │   ├── ReplayedAssertion                                    jti already used
    │   └── AssertionUnverifiable                                anything unexpected (fail closed)
    ├── InvalidGrant              invalid_grant             400  the grant cannot be honoured
    │   └── ProfessionalRefused                                  acting professional refused
    ├── InvalidScope              invalid_scope             400  nothing requested could be granted
    ├── UnsupportedGrantType      unsupported_grant_type    400  grant_type is not client_credentials
    └── TemporarilyUnavailable    temporarily_unavailable   503  a dependency failed; try again
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AssertionExpired",
    "AssertionLifetimeTooLong",
    "AssertionNotYetValid",
    "AssertionUnverifiable",
    "BadSignature",
    "ClaimMismatch",
    "DisallowedAlgorithm",
    "InvalidActingClaims",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "MalformedAssertion",
    "MissingClaim",
    "OAuthError",
    "ProfessionalRefused",
    "ReplayedAssertion",
    "TemporarilyUnavailable",
    "UnknownClient",
    "UnknownSigningKey",
    "UnsupportedGrantType",
]


class OAuthError(Exception):
    """An OAuth error response: `error` code, HTTP `status_code` and a safe `description`."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 500

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuthError):
    """The request is missing a parameter, repeats one, or is otherwise malformed."""

    error = "invalid_request"
    status_code = 400


class InvalidActingClaims(InvalidRequest):
    """The assertion's practitioner_role, purpose_of_use or btg_reason claim is unusable."""


class InvalidClient(OAuthError):
    """Client authentication (the private_key_jwt assertion) failed."""

    error = "invalid_client"
    status_code = 401


class MalformedAssertion(InvalidClient):
    """The assertion is not a compact JWS whose header and payload are JSON objects."""


class DisallowedAlgorithm(InvalidClient):
    """The assertion is signed with an algorithm other than ES384 or RS384."""


class UnknownClient(InvalidClient):
    """The assertion's issuer is not a registered client."""


class UnknownSigningKey(InvalidClient):
    """No key of the client's registered JWKS matches the assertion's kid and alg."""


class BadSignature(InvalidClient):
    """The assertion's signature does not verify with the selected registered key."""


class ClaimMismatch(InvalidClient):
    """iss and sub differ, aud is not this endpoint, or client_id contradicts the assertion."""


class MissingClaim(InvalidClient):
    """A required claim (iss, sub, aud, exp, jti) is absent or of the wrong type."""


class AssertionExpired(InvalidClient):
    """The assertion's exp has passed (beyond the clock leeway)."""


class AssertionLifetimeTooLong(InvalidClient):
    """The assertion's exp lies more than 300 s ahead, or exp - iat exceeds 300 s."""


class AssertionNotYetValid(InvalidClient):
    """The assertion's nbf or iat lies in the future (beyond the clock leeway)."""


class ReplayedAssertion(InvalidClient):
    """The assertion's jti has been used before."""


class AssertionUnverifiable(InvalidClient):
    """Verification failed in an unexpected way; refused, never accepted (fail closed)."""


class InvalidGrant(OAuthError):
    """The authenticated request cannot be honoured as asked."""

    error = "invalid_grant"
    status_code = 400


class ProfessionalRefused(InvalidGrant):
    """The acting professional is unknown, inactive, or works for another organisation."""


class InvalidScope(OAuthError):
    """None of the requested scopes can be granted to this client."""

    error = "invalid_scope"
    status_code = 400


class UnsupportedGrantType(OAuthError):
    """grant_type is present but is not client_credentials."""

    error = "unsupported_grant_type"
    status_code = 400


class TemporarilyUnavailable(OAuthError):
    """A dependency (the FHIR store, the jti cache) failed; the client may retry later."""

    error = "temporarily_unavailable"
    status_code = 503
