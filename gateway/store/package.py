"""Build the NPM-style FHIR package `fi.yhteys.fhir` from profiles/ and terminology/.

The package is what our HAPI server installs at start-up (see docker/hapi, PackageInstaller):
`package/package.json`, `package/.index.json` and one JSON file per conformance resource.
The archive is deterministic (sorted entries, zero timestamps), and its version carries a digest
of the contents, so HAPI installs a changed package anew instead of keeping a cached one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.fhir.systems import CANONICAL_BASE

__all__ = [
    "PACKAGE_NAME",
    "BASE_VERSION",
    "FhirPackage",
    "PackageError",
    "collect_resources",
    "build_package",
]

PACKAGE_NAME = "fi.yhteys.fhir"
BASE_VERSION = "0.1.0"

_CONFORMANCE_TYPES = frozenset({"StructureDefinition", "CodeSystem", "ValueSet", "ConceptMap"})


class PackageError(ValueError):
    """A source file cannot go into the package; the message names the file and the fault."""


@dataclass(frozen=True)
class FhirPackage:
    """A built package: where it is, its version and the canonical URLs it carries."""

    path: Path
    version: str
    urls: tuple[str, ...]


def collect_resources(*folders: Path) -> list[dict[str, Any]]:
    """Read every `*.json` in `folders`, checked, sorted by (resourceType, id).

    Each must be an active StructureDefinition, CodeSystem or ValueSet whose url is
    `<CANONICAL_BASE>/<resourceType>/<id>`; ids and urls must be unique. Raises `PackageError`.
    """
    resources: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            resource = _load(path)
            url = resource["url"]
            if url in seen:
                raise PackageError(f"{path}: url {url} is also defined in {seen[url]}")
            seen[url] = path
            resources.append(resource)
    return sorted(resources, key=lambda r: (r["resourceType"], r["id"]))


def build_package(folders: list[Path], out_dir: Path) -> FhirPackage:
    """Write `<out_dir>/fi.yhteys.fhir.tgz` from the resources in `folders` and describe it."""
    resources = collect_resources(*folders)
    payload = {f"{r['resourceType']}-{r['id']}.json": _dump(r) for r in resources}
    digest = hashlib.sha256(b"".join(name.encode() + body for name, body in payload.items()))
    version = f"{BASE_VERSION}-{digest.hexdigest()[:12]}"
    files = {
        "package.json": _dump(_manifest(version)),
        ".index.json": _dump(_index(resources)),
        **payload,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{PACKAGE_NAME}.tgz"
    path.write_bytes(_tgz(files))
    return FhirPackage(path=path, version=version, urls=tuple(r["url"] for r in resources))


def _load(path: Path) -> dict[str, Any]:
    try:
        resource = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{path}: not readable JSON: {exc}") from exc
    if not isinstance(resource, dict):
        raise PackageError(f"{path}: not a JSON object")
    rtype, rid, url = resource.get("resourceType"), resource.get("id"), resource.get("url")
    if rtype not in _CONFORMANCE_TYPES:
        raise PackageError(f"{path}: resourceType {rtype!r} does not belong in the package")
    if url != f"{CANONICAL_BASE}/{rtype}/{rid}":
        raise PackageError(f"{path}: url {url!r} must be {CANONICAL_BASE}/{rtype}/{rid}")
    if resource.get("status") != "active":
        raise PackageError(f"{path}: status must be 'active' (HAPI installs only active resources)")
    return resource


def _manifest(version: str) -> dict[str, Any]:
    return {
        "name": PACKAGE_NAME,
        "version": version,
        "title": "Yhteys shared plan profiles and terminology",
        "description": "Profiles, code systems and value sets of Yhteys, the shared multi-sector client plan.",
        "canonical": CANONICAL_BASE,
        "fhirVersions": ["4.0.1"],
        "type": "fhir.ig",
        "author": "Yhteys",
        "license": "MIT",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
    }


def _index(resources: list[dict[str, Any]]) -> dict[str, Any]:
    files = []
    for r in resources:
        entry = {
            "filename": f"{r['resourceType']}-{r['id']}.json",
            "resourceType": r["resourceType"],
            "id": r["id"],
            "url": r["url"],
            "version": r.get("version"),
        }
        if r["resourceType"] == "StructureDefinition":
            entry |= {"kind": r.get("kind"), "type": r.get("type")}
        files.append(entry)
    return {"index-version": 1, "files": files}


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")


def _tgz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), mtime=0)
