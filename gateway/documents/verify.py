"""A received document checked whole: its structure and its signature; pure.

`check_document(bundle, trust, now)` answers the verified signer (`gateway.signing.jades.Verified`,
None if the signature fails) and every problem found: the document rules
(`gateway.documents.structure.document_problems`) and the signature against `trust`
(`gateway.signing.bundle.verify_bundle`, its reason prefixed `signature:`). An empty list means
the document is sound and its signer trusted. The gateway's `$verify-document` and
`$receive-document`, and `yhteys document verify` and `render`, all check with this.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.documents.structure import document_problems
from gateway.signing.bundle import verify_bundle
from gateway.signing.jades import SignatureInvalid, Verified
from gateway.signing.pki import TrustStore

__all__ = ["check_document"]


def check_document(bundle: Mapping[str, Any], trust: TrustStore, now: datetime) -> tuple[Verified | None, list[str]]:
    """The signer of `bundle` (None if its signature fails) and every problem; see the module doc."""
    problems = document_problems(bundle)
    try:
        return verify_bundle(bundle, trust, now), problems
    except SignatureInvalid as invalid:
        return None, [*problems, f"signature: {invalid}"]
