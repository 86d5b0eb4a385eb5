"""The `yhteys` command line.

    yhteys run                  HAPI + demo + gateway, with a copy-paste example; Ctrl-C stops
    yhteys hapi build|start|stop|status
    yhteys gateway serve        the gateway in the foreground (HAPI must be running)
    yhteys package build        pack profiles/ and terminology/ as an NPM-style FHIR package
    yhteys demo load            load (again) the demo client, team and plan
    yhteys demo token SYSTEM    an access token for one of the four demo systems
    yhteys audit verify         check the audit trail's chain, columns and checkpoints (or an export, or a witness)
    yhteys audit export         write a range of the trail that an auditor can verify alone
    yhteys policy check|explain validate a role-policy file; explain a decision (gateway.cli.policy)
    yhteys import SOURCE FILE   a source system's export into the plan, through the gateway (gateway.cli.exchange)
    yhteys export SOURCE HETU   a client's plan in a source system's format, as it may see it (gateway.cli.exchange)
    yhteys mllp listen|send     the psychiatry EHR's HL7 v2 connection (gateway.cli.mllp)
    yhteys document verify FILE a signed plan document checked against the trust store (gateway.cli.document)

Every command reads `Settings.from_env()` once; failures print the reason and exit non-zero.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console

from auth.config import SMART_CONFIGURATION_PATH, TOKEN_PATH
from gateway.app.assembly import GatewayStartError, serve
from gateway.audit.setup import checkpoint_key, open_store
from gateway.audit.store import StoreError
from gateway.audit.verify import export_lines, verify, verify_export, verify_witness
from gateway.audit.witness import read_witness
from gateway.cli.document import document_app
from gateway.cli.exchange import export_app, import_app
from gateway.cli.mllp import mllp_app
from gateway.cli.policy import policy_app
from gateway.demo import DemoError, load_demo
from gateway.demo.clients import DemoClientError, demo_token, ensure_demo_clients
from gateway.demo.pki import ensure_demo_pki
from gateway.login.keycloak import DEMO_PEOPLE, KEYCLOAK_VERSION, Keycloak, KeycloakError, demo_realm, find_java
from gateway.settings import Settings, SettingsError
from gateway.store.hapi import HapiError, HapiServer, Tick
from gateway.store.package import PackageError, build_package

__all__ = ["app", "main"]

app = typer.Typer(help="Yhteys: one shared plan across health and social services.", no_args_is_help=True)
hapi_app = typer.Typer(help="Our HAPI FHIR store.", no_args_is_help=True)
package_app = typer.Typer(help="The Yhteys FHIR package (profiles and terminology).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data and demo systems.", no_args_is_help=True)
gateway_app = typer.Typer(help="The gateway.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(hapi_app, name="hapi")
app.add_typer(package_app, name="package")
app.add_typer(demo_app, name="demo")
app.add_typer(gateway_app, name="gateway")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(mllp_app, name="mllp")
app.add_typer(document_app, name="document")

console = Console()


def main() -> None:
    """Entry point of the `yhteys` script."""
    app()


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(1)


@contextmanager
def _waiting(what: str) -> Iterator[Tick]:
    """A spinner showing `what`, the current phase and the seconds elapsed."""
    started = time.monotonic()
    with console.status(what) as status:

        def tick(phase: str) -> None:
            status.update(f"{what}: {phase} ({time.monotonic() - started:.0f} s)")

        yield tick


def _build(server: HapiServer, force: bool = False, say_current: bool = False) -> None:
    """Build the HAPI jar unless it is current (or `force`)."""
    if not force and server.jar_is_current():
        if say_current:
            console.print(f"{server.jar} is current")
        return
    with _waiting("Building the HAPI FHIR server with Maven") as tick:
        tick("compiling and packaging")
        result = server.build(force=force)
    console.print(f"Built {result.jar} in {result.seconds:.1f} s")


def _start(server: HapiServer) -> None:
    with _waiting("Starting HAPI FHIR") as tick:
        result = server.start(on_tick=tick)
    console.print(
        f"HAPI FHIR ready at [bold]{result.base_url}[/] after {result.seconds:.1f} s "
        f"(pid {result.pid}, package {result.package.version}, log {server.log_file})"
    )


@hapi_app.command("build")
def hapi_build(force: Annotated[bool, typer.Option(help="Rebuild even if the jar is current.")] = False) -> None:
    """Build the HAPI jar (reused until docker/hapi changes)."""
    try:
        _build(HapiServer(_settings()), force=force, say_current=True)
    except HapiError as exc:
        _fail(str(exc))


@hapi_app.command("start")
def hapi_start() -> None:
    """Build if needed, start HAPI in the background and wait until it serves."""
    server = HapiServer(_settings())
    try:
        _build(server)
        _start(server)
    except (HapiError, PackageError) as exc:
        _fail(str(exc))


@hapi_app.command("stop")
def hapi_stop() -> None:
    """Stop the HAPI started from this data directory."""
    server = HapiServer(_settings())
    with _waiting("Stopping HAPI FHIR"):
        stopped = server.stop()
    console.print("HAPI stopped" if stopped else "HAPI was not running")


@hapi_app.command("status")
def hapi_status() -> None:
    """Say whether HAPI runs and serves."""
    status = HapiServer(_settings()).status()
    if not status.running:
        console.print(f"HAPI is not running (log {status.log_file})")
        raise typer.Exit(3)
    state = "ready" if status.ready else "starting or not answering"
    console.print(f"HAPI pid {status.pid}: {state} at {status.base_url}")


@package_app.command("build")
def package_build(
    out: Annotated[Path, typer.Option(help="Folder to write fi.yhteys.fhir.tgz into.")] = Path("build"),
) -> None:
    """Pack profiles/ and terminology/ into fi.yhteys.fhir.tgz."""
    settings = _settings()
    try:
        package = build_package([settings.project_root / "profiles", settings.project_root / "terminology"], out)
    except PackageError as exc:
        _fail(str(exc))
    console.print(f"Wrote {package.path} (version {package.version}, {len(package.urls)} resources)")


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo client, team, plan and consent into the running HAPI."""
    _load_demo(_settings())


def _load_demo(settings: Settings) -> None:
    try:
        with httpx.Client(timeout=120.0) as client:
            loaded = load_demo(client, settings.hapi_base_url)
    except (DemoError, httpx.TransportError) as exc:
        _fail(f"loading the demo failed: {exc}")
    console.print(f"Demo loaded: {len(loaded.locations)} resources, {loaded.created} of them new")


@app.command("run")
def run() -> None:
    """Start HAPI (building it if needed), load the demo, register the demo systems, start the
    embedded Keycloak for browser login (unless YHTEYS_OIDC_ISSUER names another provider, or no
    Java 21+ is installed), print how to call the gateway and log in, and serve the gateway
    until Ctrl-C; then stop what was started."""
    settings = _settings()
    server = HapiServer(settings)
    keycloak = Keycloak(settings.data_dir / "keycloak", settings.data_dir / "keycloak" / "run", settings.keycloak_port)
    started_here = False
    try:
        _build(server)
        started_here = not server.status().running
        if started_here:
            _start(server)
        else:
            console.print(f"HAPI already running at {settings.hapi_base_url}")
        _load_demo(settings)
        ensure_demo_clients(settings.gateway_dir)
        ensure_demo_pki(settings)
        signal.signal(signal.SIGTERM, _interrupt)
        settings, passwords = _login(settings, keycloak)
        _print_how_to_call(settings)
        _print_how_to_log_in(settings, passwords)
        console.print("\nPress Ctrl-C to stop.")
        serve(settings)
    except (HapiError, PackageError, GatewayStartError, KeycloakError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        keycloak.stop()
        if started_here:
            with _waiting("Stopping HAPI FHIR"):
                server.stop()
            console.print("Stopped.")


@gateway_app.command("serve")
def gateway_serve() -> None:
    """Serve the gateway in the foreground (HAPI must be running; demo systems registered)."""
    settings = _settings()
    ensure_demo_clients(settings.gateway_dir)
    ensure_demo_pki(settings)
    console.print(f"Gateway at {settings.gateway_origin}/fhir in front of {settings.hapi_base_url}")
    try:
        serve(settings)
    except GatewayStartError as exc:
        _fail(str(exc))


@demo_app.command("token")
def demo_token_command(
    system: Annotated[
        str,
        typer.Argument(
            help="school-welfare-system, social-welfare-system, psychiatry-ehr, youth-system or audit-console"
        ),
    ],
    purpose: Annotated[str, typer.Option(help="TREAT, CAREMGT or BTG")] = "TREAT",
    reason: Annotated[str, typer.Option(help="Break-the-glass reason (with --purpose BTG)")] = "",
    as_role: Annotated[
        str, typer.Option("--as", help="Acting PractitionerRole (default: the system's demo professional)")
    ] = "",
) -> None:
    """Print an access token for a demo system, from the running gateway's token endpoint."""
    settings = _settings()
    try:
        token = demo_token(
            settings.gateway_dir,
            f"{settings.gateway_origin}{TOKEN_PATH}",
            system,
            practitioner_role=as_role or None,
            purpose=purpose,
            btg_reason=reason,
        )
    except DemoClientError as exc:
        _fail(str(exc))
    print(token)


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path | None, typer.Option(help="Verify this export file instead of the trail.")] = None,
    witness: Annotated[
        Path | None, typer.Option(help="Also check the trail against this witness file of its checkpoints.")
    ] = None,
) -> None:
    """Check every record's hash link, index columns and signed checkpoint, and with --witness that
    the trail still holds every witnessed checkpoint; name the first broken position."""
    witnessed_note = ""
    if export is not None:
        if witness is not None:
            _fail("--witness checks the trail, not an export; give one of them")
        try:
            verdict = verify_export(export.read_text(encoding="utf-8").splitlines())
        except (OSError, ValueError) as exc:
            _fail(f"{export}: {exc}")
    else:
        settings = _settings()
        try:
            witnessed = read_witness(witness) if witness is not None else None
            public_key = checkpoint_key(settings).public_key
            store = open_store(settings)
            try:
                checkpoints = store.checkpoints()
                verdict = verify(store.events(), checkpoints, public_key)
                if verdict.ok and witnessed is not None:
                    held = verify_witness(witnessed, checkpoints, verdict.records, public_key)
                    verdict = held if not held.ok else verdict
                    witnessed_note = f"; the trail holds all {held.checkpoints} witnessed checkpoints"
            finally:
                store.close()
        except (StoreError, ValueError, OSError) as exc:
            _fail(str(exc))
    if not verdict.ok:
        console.print(f"[red]BROKEN[/] at record {verdict.first_broken}: {verdict.problem}")
        raise typer.Exit(1)
    console.print(f"OK: {verdict.records} records, {verdict.checkpoints} signed checkpoints verified{witnessed_note}")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="The JSON Lines file to write.")],
    first: Annotated[int, typer.Option("--from", help="First record.")] = 1,
    last: Annotated[int, typer.Option("--to", help="Last record (default: the newest).")] = 0,
) -> None:
    """Export records FROM..TO with their checkpoints (one is signed at TO if needed)."""
    settings = _settings()
    try:
        store, key = open_store(settings), checkpoint_key(settings)
        try:
            head, _ = store.head()
            last = last or head
            if not 1 <= first <= last <= head:
                _fail(f"the trail holds records 1..{head}; cannot export {first}..{last}")
            if last not in {c.seq for c in store.checkpoints()}:
                at = next(store.events(last, last))
                store.add_checkpoint(key.sign(last, at.hash, datetime.now(UTC).isoformat()))
            out.write_text("".join(line + "\n" for line in export_lines(store, key, first, last)), encoding="utf-8")
        finally:
            store.close()
    except (StoreError, ValueError, OSError) as exc:
        _fail(str(exc))
    console.print(f"Exported records {first}..{last} to {out}; check with: yhteys audit verify --export {out}")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends `yhteys run` the way Ctrl-C does: HAPI is stopped first."""
    raise KeyboardInterrupt


_DOCUMENT_PARAMETERS = (
    '{"resourceType":"Parameters","parameter":[{"name":"recipient","valueReference":'
    '{"reference":"Organization/demo-org-school-welfare"}},{"name":"purpose","valueCode":"CAREMGT"}]}'
)


def _login(settings: Settings, keycloak: Keycloak) -> tuple[Settings, dict[str, str]]:
    """Settings with browser login at the embedded Keycloak, started here, and the demo people's
    passwords; `settings` as they are when another provider is configured or Keycloak cannot run."""
    if settings.oidc_issuer:
        return settings, {}
    if find_java() is None:
        console.print("No Java 21 or newer is installed: browser login (Keycloak) is off.")
        return settings, {}
    secret = secrets.token_urlsafe(24)
    passwords = {what: secrets.token_urlsafe(9) for what in DEMO_PEOPLE}
    with _waiting(f"Starting Keycloak {KEYCLOAK_VERSION} (fetched from Maven Central the first time)"):
        keycloak.start(demo_realm(settings.gateway_origin, settings.oidc_client_id, secret, passwords))
    return settings.with_changes(oidc_issuer=keycloak.issuer, oidc_client_secret=secret), passwords


def _print_how_to_log_in(settings: Settings, passwords: dict[str, str]) -> None:
    if not settings.oidc_issuer:
        return
    people = "".join(
        f"  {what:<9} {DEMO_PEOPLE[what]:<15} password {password}\n" for what, password in passwords.items()
    )
    console.print(
        f"\n[bold]Log in in a browser[/] at {settings.gateway_origin}/login (identity provider {settings.oidc_issuer})\n"
        + (people or "  with your identity provider's accounts\n")
        + f"  the auditor's console   {settings.gateway_origin}/audit/console\n"
        f"  your own page           {settings.gateway_origin}/me",
        highlight=False,
        soft_wrap=True,
    )


def _print_how_to_call(settings: Settings) -> None:
    gateway = f"{settings.gateway_origin}/fhir"
    console.print(
        "\n[bold]Yhteys gateway[/] (SMART backend services; role policy and consent enforced)\n"
        f"  FHIR base          {gateway}\n"
        f"  SMART discovery    curl -s {settings.gateway_origin}{SMART_CONFIGURATION_PATH}\n"
        "  token as the youth worker's system (a signed private_key_jwt assertion, exchanged):\n"
        "                     TOKEN=$(.venv/bin/yhteys demo token youth-system)\n"
        "  read the shared plan (its psychiatric parts are hidden from this caller):\n"
        f'                     curl -s -H "Authorization: Bearer $TOKEN" {gateway}/CarePlan/demo-plan\n'
        f"  the client's goals curl -s -H \"Authorization: Bearer $TOKEN\" '{gateway}/Goal?subject=Patient/demo-client'\n"
        "  other systems      school-welfare-system, social-welfare-system, psychiatry-ehr\n"
        "  the audit trail, as the demo auditor (role auditor, no clinical access):\n"
        "                     AUDIT=$(.venv/bin/yhteys demo token audit-console)\n"
        f"                     curl -s -H \"Authorization: Bearer $AUDIT\" '{settings.gateway_origin}/audit/AuditEvent?patient=Patient/demo-client'\n"
        f"  the client's access report in Finnish (a page): {settings.gateway_origin}/audit/report/Patient/demo-client?_format=html&lang=fi\n"
        f"  the auditor's console: {settings.gateway_origin}/audit/console (the same Authorization header, or log in below)\n"
        "  a signed plan document for the school welfare, as the personal worker (then check it offline):\n"
        "                     PW=$(.venv/bin/yhteys demo token social-welfare-system)\n"
        f"                     curl -s -X POST -H \"Authorization: Bearer $PW\" -H 'Content-Type: application/fhir+json' "
        f"{settings.gateway_origin}/fhir/CarePlan/demo-plan/\\$document -d '{_DOCUMENT_PARAMETERS}' > plan.json\n"
        "                     .venv/bin/yhteys document verify plan.json; .venv/bin/yhteys document render plan.json --out plan.html\n"
        f"  audit trail        {settings.gateway_dir / 'audit.sqlite'} (check it: .venv/bin/yhteys audit verify)\n"
        f"\n[bold]FHIR store[/] (HAPI, loopback only, no access control): {settings.hapi_base_url}",
        highlight=False,
        soft_wrap=True,
    )
