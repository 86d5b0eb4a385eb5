"""`yhteys document verify|render FILE`: a signed plan document checked offline against the trust store.

    yhteys document verify FILE|- [--trust DIR]
    yhteys document render FILE|- [--audience professional|client] [--language fi|sv|en] [--trust DIR]
                                  [--out FILE] [--pdf]

The document (a FHIR document Bundle, JSON) is checked as the gateway checks one it takes in
(`gateway.documents.verify.check_document`: bdl-7..11, fullUrls, references resolved inside,
only what the Composition references, and the signature) against the trust store (`--trust`,
default the configured `YHTEYS_DOCUMENT_TRUST`). `verify` prints who signed it, with which key
and when, and exits 0; or each reason it fails, and exits 1. `render` writes the document as
an HTML page for a professional or for the client (`gateway.documents.render`; with `--pdf` as
an A4 PDF of that page, `gateway.documents.pdf`), its signature's status shown on it whether
valid or not, to `--out` or standard output. Both exit 2 if the file
cannot be read as JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gateway.documents.render import Audience, SignatureStatus, render_html
from gateway.documents.verify import check_document
from gateway.settings import Settings, SettingsError
from gateway.signing.jades import Verified
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
    verified, problems = _checked(*_read(file, trust))
    if verified is None or problems:
        for problem in problems:
            print(f"INVALID {problem}")
        raise typer.Exit(1)
    subject = verified.certificate.subject.rfc4514_string()
    print(f"VALID signed by {subject} with key {verified.kid} at {verified.signed_at.isoformat()}")


@document_app.command("render")
def render_document(
    file: Annotated[str, typer.Argument(help="The document Bundle (JSON), or - for standard input.")],
    audience: Annotated[Audience, typer.Option(help="Who reads the page: professional or client.")] = "professional",
    language: Annotated[str, typer.Option(help="The page's language: fi, sv or en.")] = "fi",
    trust: Annotated[
        Path | None, typer.Option(help="The trust store: CA certificates and CRLs (*.crt.pem, *.crl.pem).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the page here (default: standard output).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Write the page as PDF (A4) instead of HTML.")] = False,
) -> None:
    """Write a signed document as an HTML page (or PDF), with its signature's status checked now."""
    bundle, folder = _read(file, trust)
    verified, problems = _checked(bundle, folder)
    if verified is not None and not problems:
        status = SignatureStatus(True, verified.certificate.subject.rfc4514_string())
    else:
        status = SignatureStatus(False, "; ".join(problems))
    page = render_html(bundle, status, audience, language)
    data = page.encode("utf-8")
    if pdf:  # WeasyPrint (and the Pango it loads) only when a PDF is asked for: 0.5 s, and a system library
        from gateway.documents.pdf import render_pdf

        data = render_pdf(page)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)


def _read(file: str, trust: Path | None) -> tuple[dict[str, Any], Path]:
    """The document in `file` and the trust store's folder; exit 2 if either cannot be had."""
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
    return bundle, folder


def _checked(bundle: dict[str, Any], folder: Path) -> tuple[Verified | None, list[str]]:
    try:
        trust = TrustStore.load(folder)
    except (OSError, ValueError) as exc:
        return None, [f"signature: the trust store {folder} could not be read ({exc})"]
    return check_document(bundle, trust, datetime.now(UTC))
