"""The MLLP listener as `yhteys mllp listen` serves it, with the message handler chosen by name, for `bench.imports`.

    python -m bench.mllp_listener adt --port PORT --seen FILE

Reads `Settings` from the environment, makes the psychiatry EHR's gateway client exactly as the
command does (`gateway.cli.exchange.gateway_client`: the demo system's key in the gateway's
directory, acting as its demo professional), and serves `mappings.psychiatry.mllp.MllpListener`
on loopback with the handler `HANDLERS[name]` and the answered-message file `--seen`, until
SIGTERM or SIGINT (then it finishes the message in hand, as the command does). `adt` is
`mappings.psychiatry.adt.PatientMessages`, the handler the command serves; a handler of
another message kind is added to `HANDLERS` under the name `bench.imports --messages` gives it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway.cli.exchange import gateway_client
from mappings.client import GatewayClient
from mappings.psychiatry.adt import PatientMessages
from mappings.psychiatry.mllp import Handler, MllpListener, SeenMessages

__all__ = ["HANDLERS", "main", "serve"]

HANDLERS: Mapping[str, Callable[[GatewayClient], Handler]] = {
    "adt": lambda client: PatientMessages(client).handle,
}
"""Message kind → the handler the listener hands each message to, made with the EHR's gateway client."""


async def serve(kind: str, port: int, seen: Path) -> None:
    """Serve `kind`'s handler on 127.0.0.1:`port` until SIGTERM or SIGINT; see the module doc."""
    client, _, _ = gateway_client("psychiatry-hl7v2", "", None, "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with SeenMessages(seen) as answered:
        listener = MllpListener(HANDLERS[kind](client), seen=answered, host="127.0.0.1", port=port)
        await listener.start()
        try:
            await stop.wait()
        finally:
            await listener.stop()
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("kind", choices=sorted(HANDLERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seen", type=Path, required=True, help="the file of answered messages (SQLite)")
    args = parser.parse_args()
    asyncio.run(serve(args.kind, args.port, args.seen))


if __name__ == "__main__":
    main()
