"""Fixtures of the auth unit tests: client keys, a registry, a directory double, the app.

Nothing here touches the network or the session's HAPI fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, RSAKey

from auth.config import AuthConfig
from auth.jti import InMemoryJtiCache
from auth.keys import SigningKeys, generate_signing_key
from auth.professionals import ProfessionalRole
from auth.registry import ClientRegistry, parse_registry
from auth.server import create_auth_app
from tests.unit.auth.support import (
    FHIR_AUDIENCE,
    ISSUER,
    PSYCH_NURSE,
    PSYCH_ORG,
    YOUTH_ORG,
    YOUTH_WORKER,
    ManualClock,
    MemoryDirectory,
    TestClient,
    registry_data,
)


@pytest.fixture(scope="session")
def youth_key() -> ECKey:
    """The youth services system's private ES384 key (registered, kid youth-1)."""
    return ECKey.generate_key("P-384", parameters={"kid": "youth-1"}, private=True)


@pytest.fixture(scope="session")
def psych_key() -> RSAKey:
    """The psychiatry EHR's private RS384 key (registered, kid psych-rsa-1)."""
    return RSAKey.generate_key(2048, parameters={"kid": "psych-rsa-1"}, private=True)


@pytest.fixture(scope="session")
def stranger_key() -> ECKey:
    """A P-384 key nobody registered, carrying the youth system's kid."""
    return ECKey.generate_key("P-384", parameters={"kid": "youth-1"}, private=True)


@pytest.fixture
def registry(youth_key: ECKey, psych_key: RSAKey) -> ClientRegistry:
    return parse_registry(registry_data(youth_key, psych_key), base_dir=Path("."))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def directory() -> MemoryDirectory:
    return MemoryDirectory(
        roles={
            YOUTH_WORKER: ProfessionalRole(YOUTH_WORKER, YOUTH_ORG, ("youth-worker",), active=True),
            PSYCH_NURSE: ProfessionalRole(PSYCH_NURSE, PSYCH_ORG, ("psychiatric-nurse",), active=True),
            "PractitionerRole/demo-role-retired": ProfessionalRole(
                "PractitionerRole/demo-role-retired", YOUTH_ORG, ("youth-worker",), active=False
            ),
        }
    )


@pytest.fixture(scope="session")
def signing_key() -> ECKey:
    return generate_signing_key()


@pytest.fixture
def signing_keys(signing_key: ECKey) -> SigningKeys:
    return SigningKeys(signing_key)


@pytest.fixture
def config(
    registry: ClientRegistry, signing_keys: SigningKeys, clock: ManualClock, directory: MemoryDirectory
) -> AuthConfig:
    return AuthConfig.at(
        ISSUER,
        fhir_audience=FHIR_AUDIENCE,
        registry=registry,
        signing_keys=signing_keys,
        jti_cache=InMemoryJtiCache(clock),
        professionals=directory,
        clock=clock,
    )


@pytest.fixture
def http(config: AuthConfig) -> Iterator[TestClient]:
    """The auth app in-process (no port), raising no server exceptions into the test."""
    with TestClient(create_auth_app(config), raise_server_exceptions=False) as client:
        yield client
