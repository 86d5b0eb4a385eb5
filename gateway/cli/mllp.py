"""`yhteys mllp listen|send`: the psychiatry EHR's HL7 v2 connection (MLLP), started and stopped here.

    yhteys mllp listen [--host 127.0.0.1] [--port 2575] [--max-frame BYTES] [--seen FILE]
                       [--gateway URL] [--key FILE] [--as ROLE]
    yhteys mllp send FILE|- [--host 127.0.0.1] [--port 2575]

`listen` serves the EHR in the foreground until SIGTERM or Ctrl-C (then it finishes the message
in hand and closes): each message is answered with its ACK; ADT^A04/A08 identify the client
and PPR/PGL write its problems, goals and team members, through the gateway as the EHR's system
(`mappings.psychiatry.inbound`); a repeated control id is
answered from `--seen` (default `<gateway dir>/mllp-seen.sqlite`) without being applied again.
`send` sends one message (segments on lines of their own) and prints the ACK.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.cli.exchange import gateway_client
from mappings.psychiatry.inbound import PsychiatryMessages
from mappings.psychiatry.mllp import MllpError, MllpListener, SeenMessages, send

__all__ = ["mllp_app"]

mllp_app = typer.Typer(help="The psychiatry EHR's HL7 v2 connection (MLLP).", no_args_is_help=True)

_DEFAULT_PORT = 2575
"""The port IANA registers for HL7 over MLLP."""


@mllp_app.command("listen")
def listen(
    host: Annotated[str, typer.Option(help="The address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port.")] = _DEFAULT_PORT,
    max_frame: Annotated[int, typer.Option(help="The largest message taken, in bytes.")] = 1_048_576,
    seen: Annotated[Path | None, typer.Option(help="The file of messages answered (repeats).")] = None,
    gateway: Annotated[str, typer.Option(help="The gateway's FHIR base (default: this gateway's).")] = "",
    key: Annotated[Path | None, typer.Option(help="The EHR system's private key, a JWK file.")] = None,
    as_role: Annotated[str, typer.Option("--as", help="The acting PractitionerRole.")] = "",
) -> None:
    """Serve the psychiatry EHR until SIGTERM or Ctrl-C."""
    client, organization, settings = gateway_client("psychiatry-hl7v2", gateway, key, as_role)
    answered = SeenMessages(seen or settings.gateway_dir / "mllp-seen.sqlite")
    console = Console(stderr=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        listener = MllpListener(
            PsychiatryMessages(client, organization).handle, seen=answered, host=host, port=port, max_frame=max_frame
        )
        await listener.start()
        console.print(
            f"MLLP listener on {listener.host}:{listener.port} (ADT^A04/A08, PPR^PC1-PC3, PGL^PC6-PC8); Ctrl-C or SIGTERM stops it"
        )
        try:
            await stop.wait()
        finally:
            await listener.stop()
            await client.close()

    try:
        asyncio.run(serve())
    except OSError as exc:
        console.print(f"[red]cannot listen on {host}:{port}: {exc.strerror or exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        answered.close()


@mllp_app.command("send")
def send_message(
    file: Annotated[str, typer.Argument(help="The message (segments on lines of their own), or - for standard input.")],
    host: Annotated[str, typer.Option(help="The listener's address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The listener's port.")] = _DEFAULT_PORT,
) -> None:
    """Send one message and print its ACK (segments on lines of their own)."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    message = "\r".join(line for line in text.splitlines() if line.strip())
    try:
        ack = asyncio.run(send(host, port, message))
    except MllpError as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print(ack.replace("\r", "\n").strip())
