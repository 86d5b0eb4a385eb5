"""The Yhteys claims of an assertion: acting professional, purpose of use, break-the-glass reason."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from auth.claims import (
    BTG_REASON_CLAIM,
    PRACTITIONER_ROLE_CLAIM,
    PURPOSE_OF_USE_CLAIM,
    ActingClaims,
    read_acting_claims,
)
from auth.errors import InvalidActingClaims
from gateway.fhir.codes import PurposeOfUse

ROLE = "PractitionerRole/demo-role-youth-worker"
REASON = "Client in acute crisis at the youth centre"


@dataclass(frozen=True)
class ClaimsCase:
    name: str
    claims: dict[str, object]
    want: ActingClaims | None  # None: refused with invalid_request


CASES = [
    ClaimsCase(
        "purpose defaults to TREAT", {PRACTITIONER_ROLE_CLAIM: ROLE}, ActingClaims(ROLE, PurposeOfUse.TREAT, "")
    ),
    ClaimsCase(
        "care management",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "CAREMGT"},
        ActingClaims(ROLE, PurposeOfUse.CAREMGT, ""),
    ),
    ClaimsCase(
        "break the glass with a reason (trimmed)",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: f"  {REASON} "},
        ActingClaims(ROLE, PurposeOfUse.BTG, REASON),
    ),
    ClaimsCase("no practitioner role", {PURPOSE_OF_USE_CLAIM: "TREAT"}, None),
    ClaimsCase("practitioner role of another type", {PRACTITIONER_ROLE_CLAIM: "Practitioner/demo-pr-1"}, None),
    ClaimsCase("practitioner role as an absolute URL", {PRACTITIONER_ROLE_CLAIM: "https://x/fhir/" + ROLE}, None),
    ClaimsCase("practitioner role not a string", {PRACTITIONER_ROLE_CLAIM: ["PractitionerRole/a"]}, None),
    ClaimsCase("unknown purpose", {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "HMARKT"}, None),
    ClaimsCase("purpose in lower case", {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "treat"}, None),
    ClaimsCase("purpose not a string", {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: 1}, None),
    ClaimsCase("BTG without a reason", {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG"}, None),
    ClaimsCase(
        "BTG with a short reason",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: "  urgent   "},
        None,
    ),
    ClaimsCase(
        "BTG with a reason that is not text",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: 1234567890123},
        None,
    ),
    ClaimsCase(
        "BTG with control characters",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: REASON + "\n\x00"},
        None,
    ),
    ClaimsCase(
        "BTG with an overlong reason",
        {PRACTITIONER_ROLE_CLAIM: ROLE, PURPOSE_OF_USE_CLAIM: "BTG", BTG_REASON_CLAIM: "x" * 1001},
        None,
    ),
    ClaimsCase("reason without BTG", {PRACTITIONER_ROLE_CLAIM: ROLE, BTG_REASON_CLAIM: REASON}, None),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_read_acting_claims(case: ClaimsCase) -> None:
    if case.want is not None:
        assert read_acting_claims(case.claims) == case.want
    else:
        with pytest.raises(InvalidActingClaims) as caught:
            read_acting_claims(case.claims)
        assert caught.value.error == "invalid_request"
        assert caught.value.status_code == 400


def test_acting_claims_cannot_be_built_inconsistent() -> None:
    with pytest.raises(InvalidActingClaims):
        ActingClaims(ROLE, PurposeOfUse.BTG, "")
    with pytest.raises(InvalidActingClaims):
        ActingClaims(ROLE, PurposeOfUse.TREAT, REASON)
    with pytest.raises(InvalidActingClaims):
        ActingClaims("Patient/1", PurposeOfUse.TREAT, "")
