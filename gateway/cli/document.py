"""`yhteys document verify FILE`: a signed plan document checked offline against the trust store.

    yhteys document verify FILE|- [--trust DIR]

The document (a FHIR document Bundle, JSON) is checked as the gateway checks one it takes in:
its structure (`gateway.documents.structure`: bdl-7..11, fullUrls, references resolved inside,
only what the Composition references) and its signature (`gateway.signing.bundle.verify_bundle`)
against the trust store (`--trust`, default the configured `YHTEYS_DOCUMENT_TRUST`). It prints
who signed it, with which key and when, and exits 0; or each reason it fails, and exits 1; 2 if
the file cannot be read as JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.documents.structure import document_problems
from gateway.settings import Settings, SettingsError
from gateway.signing.bundle import verify_bundle
from gateway.signing.jades import SignatureInvalid
from gateway.signing.pki import TrustStore

__all__ = ["document_app"]

document_app = typer.Typer(help="Signed plan documents.", no_args_is_help=True)


@document_app.command("verify")
def verify_document(
    file: Annotated[str, typer.Argument(help="The document Bundle (JSON), or - for standard input.")],
    trust: Annotated[
        Path | None, typer.Option(help="The trust store: CA certificates and CRLs (*.crt.pem, *.crl.pem).")
    ] = None,
) -> None:
    """Check a signed document's structure and signature; exit 1 naming each failure."""
    errors = Console(stderr=True)
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        bundle = json.loads(text)
        folder = trust or Settings.from_env().document_trust
    except (OSError, ValueError, SettingsError) as exc:
        errors.print(f"[red]{file}: {exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if not isinstance(bundle, dict):
        errors.print(f"[red]{file}: not a JSON object[/red]", highlight=False)
        raise typer.Exit(2)
    problems = document_problems(bundle)
    try:
        verified = verify_bundle(bundle, TrustStore.load(folder), datetime.now(UTC))
    except SignatureInvalid as exc:
        problems.append(f"signature: {exc}")
    if problems:
        for problem in problems:
            print(f"INVALID {problem}")
        raise typer.Exit(1)
    subject = verified.certificate.subject.rfc4514_string()
    print(f"VALID signed by {subject} with key {verified.kid} at {verified.signed_at.isoformat()}")
