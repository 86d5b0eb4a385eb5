"""The package builder: what goes in, what is refused, and that it is deterministic."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from gateway.fhir.systems import CANONICAL_BASE
from gateway.settings import PROJECT_ROOT
from gateway.store.package import PACKAGE_NAME, PackageError, build_package, collect_resources

SOURCES = [PROJECT_ROOT / "profiles", PROJECT_ROOT / "terminology"]


def _members(path: Path) -> dict[str, Any]:
    with tarfile.open(path, "r:gz") as tar:
        return {
            m.name: json.load(io.BytesIO(tar.extractfile(m).read()))  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def _value_set(folder: Path, rid: str, **changes: Any) -> Path:
    resource = {
        "resourceType": "ValueSet",
        "id": rid,
        "url": f"{CANONICAL_BASE}/ValueSet/{rid}",
        "version": "0.1.0",
        "status": "active",
        **changes,
    }
    path = folder / f"ValueSet-{rid}.json"
    path.write_text(json.dumps(resource))
    return path


def test_package_holds_manifest_index_and_every_resource(tmp_path: Path) -> None:
    package = build_package(SOURCES, tmp_path)
    members = _members(package.path)
    manifest = members["package/package.json"]
    assert manifest["name"] == PACKAGE_NAME
    assert manifest["version"] == package.version
    assert manifest["fhirVersions"] == ["4.0.1"]
    index = members["package/.index.json"]["files"]
    assert sorted(f["url"] for f in index) == sorted(package.urls)
    for entry in index:
        assert members[f"package/{entry['filename']}"]["url"] == entry["url"]
    assert f"{CANONICAL_BASE}/StructureDefinition/SharedCarePlan" in package.urls
    assert f"{CANONICAL_BASE}/ValueSet/team-role" in package.urls


def test_build_is_deterministic(tmp_path: Path) -> None:
    first = build_package(SOURCES, tmp_path / "a")
    second = build_package(SOURCES, tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.version == second.version


def test_version_follows_content(tmp_path: Path) -> None:
    _value_set(tmp_path, "probe", title="one")
    before = build_package([tmp_path], tmp_path / "out").version
    _value_set(tmp_path, "probe", title="two")
    after = build_package([tmp_path], tmp_path / "out").version
    assert before != after
    assert before.startswith("0.1.0-") and after.startswith("0.1.0-")


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"status": "draft"}, "status must be 'active'"),
        ({"url": "https://elsewhere.example/ValueSet/probe"}, "url"),
        ({"resourceType": "Patient"}, "does not belong"),
    ],
)
def test_bad_sources_are_refused_with_the_file_named(tmp_path: Path, changes: dict[str, Any], fault: str) -> None:
    path = _value_set(tmp_path, "probe", **changes)
    with pytest.raises(PackageError, match=fault) as caught:
        collect_resources(tmp_path)
    assert str(path) in str(caught.value)


def test_broken_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(PackageError, match="not readable JSON"):
        collect_resources(tmp_path)


def test_duplicate_urls_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _value_set(tmp_path / "a", "probe")
    _value_set(tmp_path / "b", "probe")
    with pytest.raises(PackageError, match="also defined"):
        collect_resources(tmp_path / "a", tmp_path / "b")
