"""The gateway served with a chosen audit sink, so that `bench.audit` can compare audit on and off.

    python -m bench.audited_gateway trail|discard

Reads `Settings` from the environment (`bench.stack.served_gateway` sets it, as for `yhteys
gateway serve`) and runs `gateway.app.assembly.build_gateway` under uvicorn in the foreground, as
`gateway.app.assembly.serve` does: `trail` passes no sink, so the FHIR path records into the real
audit trail; `discard` passes `Discard`. Both variants start through this one entry point, so
they are served alike and differ only in the sink.
"""

from __future__ import annotations

import argparse

import uvicorn

from gateway.app.assembly import build_gateway
from gateway.audit import AuditRecord
from gateway.settings import Settings

__all__ = ["SINKS", "Discard", "main"]

SINKS = ("trail", "discard")


class Discard:
    """An `AuditSink` that keeps nothing and returns at once: the gateway without audit.

    For benchmarks only: it breaks the sink's contract (nothing reaches stable storage).
    """

    async def record(self, record: AuditRecord) -> None:
        """Drop `record`."""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("sink", choices=SINKS)
    args = parser.parse_args()
    settings = Settings.from_env()
    gateway = build_gateway(settings, audit=Discard() if args.sink == "discard" else None)
    uvicorn.run(gateway.app, host=settings.gateway_host, port=settings.gateway_port, log_level="warning")


if __name__ == "__main__":
    main()
