"""How long our HAPI FHIR store takes to build and to start.

    python -m bench.hapi_startup [--runs N] [--cold]

Build: a clean Maven package (local Maven repository already filled), and the check that
reuses a current jar; with --cold, also one build into an empty local Maven repository, which
is what a new machine does first (it downloads HAPI and its dependencies from Maven Central). Start: from launching the JVM to `/fhir/metadata` answering 200 with our
package installed, first on an empty H2 file database (schema creation), then again on the
same data (a restart). Results go into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import write_section
from gateway.settings import Settings
from gateway.store.hapi import HapiServer

__all__ = ["main"]


def _summary(values: list[float], unit: str = "s") -> str:
    if len(values) == 1:
        return f"{values[0]:.1f} {unit}"
    return (
        f"median {statistics.median(values):.1f} {unit} (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


def _cold_build() -> float:
    """Seconds for one clean build of docker/hapi into a new, empty local Maven repository."""
    server = HapiServer(Settings.from_env())
    repo = Path(tempfile.mkdtemp(prefix="yhteys-m2-"))
    shutil.rmtree(server.project_dir / "target", ignore_errors=True)
    started = time.monotonic()
    subprocess.run([*server.MAVEN_PACKAGE, f"-Dmaven.repo.local={repo}"], cwd=server.project_dir, check=True)
    seconds = time.monotonic() - started
    shutil.rmtree(repo, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="repetitions of each measurement")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--cold", action="store_true", help="also build with an empty Maven repository")
    args = parser.parse_args()
    cold_row = (
        f"| first build on a new machine (empty local Maven repository) | {_cold_build():.1f} s |\n"
        if args.cold
        else ""
    )

    builds: list[float] = []
    checks: list[float] = []
    first_starts: list[float] = []
    restarts: list[float] = []
    for _ in range(args.runs):
        data_dir = Path(tempfile.mkdtemp(prefix="yhteys-bench-"))
        server = HapiServer(Settings.from_env().with_changes(data_dir=data_dir, hapi_port=args.port))
        shutil.rmtree(server.project_dir / "target", ignore_errors=True)
        builds.append(server.build().seconds)
        started = time.monotonic()
        assert not server.build().rebuilt
        checks.append(time.monotonic() - started)
        first_starts.append(server.start().seconds)
        server.stop()
        restarts.append(server.start().seconds)
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    body = f"""## HAPI FHIR store: build and start-up

`python -m bench.hapi_startup --runs {args.runs}{" --cold" if args.cold else ""}`

| what | time |
|---|---|
{cold_row}| clean `mvn package` of docker/hapi (Maven repository warm) | {_summary(builds)} |
| reuse check when the jar is current | {_summary([c * 1000 for c in checks], "ms")} |
| start, empty H2 file database (schema + package install) | {_summary(first_starts)} |
| restart on the same data | {_summary(restarts)} |

Start time runs from launching the JVM (heap {Settings.from_env().hapi_heap}) until
`/fhir/metadata` answers 200, which our server allows only after the Yhteys package is installed.
"""
    write_section("hapi-startup", body)
    print(body)


if __name__ == "__main__":
    main()
