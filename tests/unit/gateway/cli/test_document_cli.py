"""`yhteys document verify` on documents signed with the demo PKI: valid, tampered, revoked, broken."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.pki import ensure_demo_pki, revoke_demo
from gateway.documents.compose import compose
from gateway.settings import Settings
from gateway.signing.bundle import sign_bundle
from gateway.signing.pki import KeyRing
from tests.unit.gateway.documents.demo_documents import REQUEST, seen

ORG, OID = "Organization/demo-org-social-welfare", "1.2.246.10.99990002.10.0"


def _signed_file(settings: Settings, tmp_path: Path, change: Any = None) -> Path:
    signer = KeyRing(settings.document_keys).current(ORG)
    assert signer is not None
    document = sign_bundle(compose(REQUEST, seen(frozenset())), signer, ORG, OID, datetime.now(UTC))
    if change is not None:
        change(document)
    path = tmp_path / "document.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _verify(settings: Settings, path: Path) -> Any:
    return CliRunner().invoke(app, ["document", "verify", str(path), "--trust", str(settings.document_trust)])


def test_a_document_signed_with_the_demo_pki_verifies_and_a_changed_one_does_not(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ensure_demo_pki(settings)
    kids = sorted(p.name for p in settings.document_keys.rglob("*.key.pem"))
    ensure_demo_pki(settings)  # again: nothing new
    assert sorted(p.name for p in settings.document_keys.rglob("*.key.pem")) == kids and len(kids) == 4
    secrets = [*settings.document_keys.rglob("*.key.pem"), settings.gateway_dir / "pki" / "ca" / "ca.key.pem"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secrets)
    assert not list(settings.document_trust.glob("*.key.pem"))  # no private key in the trust store
    good = _verify(settings, _signed_file(settings, tmp_path))
    assert (
        good.exit_code == 0
        and good.stdout.startswith("VALID signed by")
        and "Organization-demo-org-social-welfare" in good.stdout
    )
    tampered = _verify(
        settings, _signed_file(settings, tmp_path, lambda d: d["entry"][1]["resource"].update(active=False))
    )
    assert tampered.exit_code == 1 and "INVALID signature: the signature does not verify" in tampered.stdout
    broken = _verify(settings, _signed_file(settings, tmp_path, lambda d: d.pop("timestamp")))
    assert broken.exit_code == 1 and "INVALID bdl-10" in broken.stdout


def test_a_revoked_key_fails_and_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ensure_demo_pki(settings)
    signer = KeyRing(settings.document_keys).current(ORG)
    assert signer is not None
    path = _signed_file(settings, tmp_path)
    revoke_demo(settings, [signer.certificate.serial_number])
    revoked = _verify(settings, path)
    assert revoked.exit_code == 1 and "is revoked" in revoked.stdout
    (tmp_path / "nonsense.json").write_text("{not json", encoding="utf-8")
    assert _verify(settings, tmp_path / "nonsense.json").exit_code == 2


def test_render_writes_the_page_with_the_signature_status_checked_now(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ensure_demo_pki(settings)
    trust = ["--trust", str(settings.document_trust)]
    page = tmp_path / "page.html"
    good = _signed_file(settings, tmp_path)
    done = CliRunner().invoke(
        app, ["document", "render", str(good), "--audience", "client", "--out", str(page), *trust]
    )
    assert done.exit_code == 0, done.output
    html = page.read_text(encoding="utf-8")
    assert "<title>Sinun suunnitelmasi</title>" in html and "Allekirjoitus on kelvollinen" in html
    tampered = _signed_file(settings, tmp_path, lambda d: d["entry"][1]["resource"].update(active=False))
    shown = CliRunner().invoke(app, ["document", "render", str(tampered), "--language", "sv", *trust])
    assert shown.exit_code == 0 and 'lang="sv"' in shown.stdout
    assert "Signaturen är INTE giltig" in shown.stdout and "canonical form" in shown.stdout


def test_render_writes_a_pdf_of_the_same_page(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ensure_demo_pki(settings)
    out = tmp_path / "page.pdf"
    args = ["document", "render", str(_signed_file(settings, tmp_path)), "--audience", "client", "--pdf"]
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--trust", str(settings.document_trust)])
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") and len(data) > 5_000
