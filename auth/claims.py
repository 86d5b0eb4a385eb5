"""The Yhteys claims of a token request: who acts, and for what purpose.

A connected system acts for one professional at a time. Its client assertion names them:

- `https://yhteys.fi/fhir/claims/practitioner_role` — required, "PractitionerRole/<id>";
- `https://yhteys.fi/fhir/claims/purpose_of_use` — a v3-ActReason code: TREAT (the default
  when absent), CAREMGT or BTG (break the glass);
- `https://yhteys.fi/fhir/claims/btg_reason` — required with BTG (at least 10 characters of
  text after trimming, at most 1000), and refused with any other purpose.

`read_acting_claims` checks only their form; whether the role exists, is active and belongs
to the client's organisation is for `auth.professionals`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auth.errors import InvalidActingClaims
from gateway.fhir.codes import PurposeOfUse
from gateway.fhir.ids import PRACTITIONER_ROLE_REFERENCE
from gateway.fhir.systems import BTG_REASON_CLAIM, PRACTITIONER_ROLE_CLAIM, PURPOSE_OF_USE_CLAIM

__all__ = [
    "BTG_REASON_CLAIM",
    "MIN_BTG_REASON_LENGTH",
    "PRACTITIONER_ROLE_CLAIM",
    "PURPOSE_OF_USE_CLAIM",
    "ActingClaims",
    "read_acting_claims",
]

MIN_BTG_REASON_LENGTH = 10
_MAX_BTG_REASON_LENGTH = 1000


@dataclass(frozen=True)
class ActingClaims:
    """The acting professional and purpose, checked for form.

    `btg_reason` is the trimmed reason when `purpose_of_use` is BTG and "" otherwise.
    """

    practitioner_role: str
    purpose_of_use: PurposeOfUse
    btg_reason: str

    def __post_init__(self) -> None:
        if not PRACTITIONER_ROLE_REFERENCE.fullmatch(self.practitioner_role):
            raise InvalidActingClaims("practitioner_role must be a reference 'PractitionerRole/<id>'")
        if (self.purpose_of_use is PurposeOfUse.BTG) != bool(self.btg_reason):
            raise InvalidActingClaims("btg_reason is given exactly when purpose_of_use is BTG")


def read_acting_claims(claims: Mapping[str, object]) -> ActingClaims:
    """Read the Yhteys claims of a verified assertion; raise `InvalidActingClaims` if unusable."""
    role = claims.get(PRACTITIONER_ROLE_CLAIM)
    if not isinstance(role, str) or not PRACTITIONER_ROLE_REFERENCE.fullmatch(role):
        raise InvalidActingClaims(
            f"the assertion must name the acting professional in {PRACTITIONER_ROLE_CLAIM} as 'PractitionerRole/<id>'"
        )
    purpose_value = claims.get(PURPOSE_OF_USE_CLAIM, PurposeOfUse.TREAT.value)
    if not isinstance(purpose_value, str) or purpose_value not in {p.value for p in PurposeOfUse}:
        raise InvalidActingClaims("purpose_of_use must be one of TREAT, CAREMGT, BTG")
    purpose = PurposeOfUse(purpose_value)
    reason_value = claims.get(BTG_REASON_CLAIM)
    if purpose is not PurposeOfUse.BTG:
        if reason_value is not None:
            raise InvalidActingClaims("btg_reason is only allowed with purpose_of_use BTG")
        return ActingClaims(role, purpose, "")
    if not isinstance(reason_value, str):
        raise InvalidActingClaims("break the glass (BTG) requires a btg_reason")
    reason = reason_value.strip()
    if len(reason) < MIN_BTG_REASON_LENGTH:
        raise InvalidActingClaims(f"btg_reason must be at least {MIN_BTG_REASON_LENGTH} characters of text")
    if len(reason) > _MAX_BTG_REASON_LENGTH or not reason.isprintable():
        raise InvalidActingClaims(f"btg_reason must be printable text of at most {_MAX_BTG_REASON_LENGTH} characters")
    return ActingClaims(role, purpose, reason)
