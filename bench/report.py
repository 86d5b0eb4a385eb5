"""Write one benchmark's section into BENCHMARKS.md, with the machine and the date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path

from gateway.settings import PROJECT_ROOT

__all__ = ["BENCHMARKS", "machine", "write_section"]

BENCHMARKS = PROJECT_ROOT / "BENCHMARKS.md"
_HEADER = "# Benchmarks\n\nMeasured by the scripts in `bench/`; each section says how to rerun it.\n"


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, OS, Java and Python."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, {java[0] if java else 'no java'}, "
        f"Python {platform.python_version()}"
    )


def write_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section `name` of BENCHMARKS.md with `body`, dated and placed."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"<!-- bench:{name} -->\n{body.rstrip()}\n\nMeasured {stamp} on: {machine()}.\n<!-- /bench:{name} -->\n"
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")
