"""Fixtures of the conformance checks: the e2e gateway fixtures and the auth app fixtures,
re-exported so that each check runs on the same real components as the tests it builds on."""

from __future__ import annotations

from tests.e2e.conftest import call, client, served, store_statement  # noqa: F401
from tests.unit.auth.conftest import (  # noqa: F401
    clock,
    config,
    directory,
    http,
    psych_key,
    registry,
    signing_key,
    signing_keys,
    stranger_key,
    youth_key,
)
