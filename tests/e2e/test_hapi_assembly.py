"""Our HAPI assembly (docker/hapi) refuses to serve without its profile package, is configured by
exactly the documented names, and enforces the resource profiles the package defines.

Running the jar directly, this proves that:

- without `yhteys.package-file` the process exits non-zero within seconds, before Tomcat or
  Hibernate start, saying that it refuses to serve without its profiles and naming the setting
  and its environment variable `YHTEYS_PACKAGE_FILE`; it never answered 200 on /fhir/metadata;
- the environment variable `YHTEYS_PACKAGE_FILE` and the command line `--yhteys.package-file=`
  bind (the refusal names the exact path given), and the command line overrides the environment;
- a file that is not an NPM package, and a package without resource profiles (extensions only),
  are refused the same way;
- with the documented names (`YHTEYS_PACKAGE_FILE`, `YHTEYS_LUCENE_DIR`, `YHTEYS_SERVER_ADDRESS`,
  `YHTEYS_DEFAULT_PAGE_SIZE`, `YHTEYS_MAX_PAGE_SIZE`) and a package from `yhteys package build`,
  the store starts, uses every one of those settings, and enforces exactly the package's profiles;

and, against the session's HAPI, that the profiles it enforces are the package's (nine resource
types), that a resource of each of those types without `meta.profile` is refused and not stored,
and that a reference written as a search (an inline match URL) is refused and nothing stored.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.demo import DemoLoad, demo_bundle
from gateway.store.hapi import HapiServer
from tests.fhirjson import FHIR_JSON, errors, search_total
from tests.ports import free_port

PROFILED_TYPES = frozenset(
    {
        "CarePlan", "CareTeam", "Goal", "Consent", "Patient", "Practitioner", "PractitionerRole", "Organization",
        "DocumentReference",
    }
)  # fmt: skip
"""The resource types today's package profiles."""

"""The demo client's personal identity code, as a token search names it."""

REFUSAL = "The Yhteys FHIR store refuses to serve without its profiles"
REFUSAL_SECONDS = 30.0
"""A refused start must end well before a full start (about 40-50 s) could have happened."""
READY_SECONDS = 300.0

_ENFORCED = re.compile(r"Enforcing Yhteys profiles on (\d+) resource types: \{(.*)\}$", re.MULTILINE)

Profiles = dict[str, list[str]]


class _Jar:
    """One run of the jar on a free port with a private H2 database in `workdir`; output in a log."""

    def __init__(self, jar: Path, workdir: Path, env: dict[str, str], args: Sequence[str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.metadata_url = f"http://127.0.0.1:{port}/fhir/metadata"
        self.base_url = f"http://127.0.0.1:{port}/fhir"
        self.log = workdir / "hapi.log"
        inherited = {k: v for k, v in os.environ.items() if not k.upper().startswith(("YHTEYS_", "SPRING_", "SERVER_"))}
        full_env = {
            **inherited,
            "SERVER_ADDRESS": "127.0.0.1",
            "SERVER_PORT": str(port),
            "SPRING_DATASOURCE_URL": f"jdbc:h2:file:{workdir / 'h2'};DB_CLOSE_ON_EXIT=FALSE",
            **env,
        }
        self.started = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["java", "-Xmx1g", "-jar", str(jar), *args],
                cwd=workdir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_exit(self, timeout: float) -> tuple[int, float, bool]:
        """Wait until the process ends: its exit code, seconds it ran, whether metadata said 200."""
        served = False
        with httpx.Client(timeout=2.0) as client:
            while self.process.poll() is None:
                assert time.monotonic() - self.started < timeout, f"still running:\n{self.output()}"
                served = served or _status(client, self.metadata_url) == 200
                time.sleep(0.2)
        return self.process.returncode, time.monotonic() - self.started, served

    def wait_until_ready(self, timeout: float) -> None:
        """Wait until /fhir/metadata answers 200 (the package is installed)."""
        with httpx.Client(timeout=5.0) as client:
            while _status(client, self.metadata_url) != 200:
                assert self.process.poll() is None, f"exited {self.process.returncode}:\n{self.output()}"
                assert time.monotonic() - self.started < timeout, f"not ready:\n{self.output()}"
                time.sleep(1.0)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def _running(jar: Path, workdir: Path, env: dict[str, str], args: Sequence[str] = ()) -> Iterator[_Jar]:
    run = _Jar(jar, workdir, env, args)
    try:
        yield run
    finally:
        run.stop()


def _status(client: httpx.Client, url: str) -> int | None:
    try:
        return client.get(url).status_code
    except httpx.TransportError:
        return None


def _refused_start(hapi: HapiServer, workdir: Path, env: dict[str, str], args: Sequence[str] = ()) -> str:
    """Run the jar; assert it refuses quickly and never serves. Returns its output."""
    with _running(hapi.jar, workdir, env, args) as run:
        code, seconds, served = run.wait_for_exit(timeout=120.0)
        output = run.output()
    assert code != 0, output
    assert not served, output
    assert seconds < REFUSAL_SECONDS, f"refused only after {seconds:.1f} s:\n{output}"
    assert REFUSAL in output, output
    assert "Tomcat" not in output and "HHH" not in output, output  # no web server, no Hibernate
    return output


def _is_resource_profile(definition: dict[str, Any]) -> bool:
    return definition.get("kind") == "resource" and definition.get("derivation") == "constraint"


def _profiles(package: Path) -> Profiles:
    """Resource type → the resource profiles (StructureDefinitions, kind resource) in `package`."""
    profiles: Profiles = {}
    for definition in _definitions(package).values():
        if _is_resource_profile(definition):
            profiles.setdefault(definition["type"], []).append(definition["url"])
    return {kind: sorted(urls) for kind, urls in profiles.items()}


def _definitions(package: Path) -> dict[str, dict[str, Any]]:
    """The StructureDefinitions in `package`, by file name (without the folder)."""
    definitions: dict[str, dict[str, Any]] = {}
    with tarfile.open(package) as tgz:
        for member in tgz.getmembers():
            name = member.name.removeprefix("package/")
            extracted = tgz.extractfile(member)
            if name.startswith("StructureDefinition-") and extracted is not None:
                definitions[name] = json.load(extracted)
    return definitions


def _enforced(log: str) -> Profiles:
    """The profiles HAPI logged it enforces: resource type → profile URLs."""
    found = _ENFORCED.search(log)
    assert found is not None, "no 'Enforcing Yhteys profiles' line in the log"
    enforced = {kind: sorted(urls.split(", ")) for kind, urls in re.findall(r"(\w+)=\[([^\]]*)\]", found.group(2))}
    assert int(found.group(1)) == len(enforced)
    return enforced


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our FHIR package, built by `yhteys package build` from profiles/ and terminology/."""
    out = tmp_path_factory.mktemp("package")
    cli = Path(sys.executable).with_name("yhteys")
    subprocess.run([str(cli), "package", "build", "--out", str(out)], check=True, capture_output=True)
    built = out / "fi.yhteys.fhir.tgz"
    assert _profiles(built).keys() == PROFILED_TYPES
    return built


def _without_resource_profiles(package: Path, target: Path) -> Path:
    """A copy of `package` with its resource profiles (and their index entries) left out."""
    dropped = {name for name, definition in _definitions(package).items() if _is_resource_profile(definition)}
    with tarfile.open(package) as source, tarfile.open(target, "w:gz") as reduced:
        for member in source.getmembers():
            extracted = source.extractfile(member)
            if member.name.removeprefix("package/") in dropped or extracted is None:
                continue
            data = extracted.read()
            if member.name == "package/.index.json":
                index = json.loads(data)
                index["files"] = [f for f in index["files"] if f["filename"] not in dropped]
                data = json.dumps(index).encode()
                member.size = len(data)
            reduced.addfile(member, io.BytesIO(data))
    return target


# -- refused starts (each within seconds) --------------------------------------------------------


@pytest.mark.slow
def test_without_a_package_setting_the_store_refuses_to_start(hapi: HapiServer, tmp_path: Path) -> None:
    output = _refused_start(hapi, tmp_path, env={})
    assert "yhteys.package-file" in output
    assert "YHTEYS_PACKAGE_FILE" in output
    assert "is not set" in output


@pytest.mark.slow
def test_the_environment_variable_names_the_package(hapi: HapiServer, tmp_path: Path) -> None:
    missing = tmp_path / "missing.tgz"
    output = _refused_start(hapi, tmp_path / "run", env={"YHTEYS_PACKAGE_FILE": str(missing)})
    assert f"names {missing}, which does not exist or cannot be read" in output


@pytest.mark.slow
def test_the_command_line_names_the_package_over_the_environment(hapi: HapiServer, tmp_path: Path) -> None:
    from_env = tmp_path / "missing.tgz"
    from_args = tmp_path / "other-missing.tgz"
    output = _refused_start(
        hapi,
        tmp_path / "run",
        env={"YHTEYS_PACKAGE_FILE": str(from_env)},
        args=[f"--yhteys.package-file={from_args}"],
    )
    assert f"names {from_args}, which does not exist or cannot be read" in output
    assert str(from_env) not in output


@pytest.mark.slow
def test_a_file_that_is_no_npm_package_is_refused(hapi: HapiServer, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tgz"
    garbage.write_text("not a package")
    output = _refused_start(hapi, tmp_path / "run", env={"YHTEYS_PACKAGE_FILE": str(garbage)})
    assert f"names {garbage}, which cannot be read as an NPM package" in output


@pytest.mark.slow
def test_a_package_without_resource_profiles_is_refused(hapi: HapiServer, package: Path, tmp_path: Path) -> None:
    """Extensions are StructureDefinitions too, but no resource profile: they do not count."""
    extensions_only = _without_resource_profiles(package, tmp_path / "extensions-only.tgz")
    output = _refused_start(hapi, tmp_path / "run", env={"YHTEYS_PACKAGE_FILE": str(extensions_only)})
    assert f"names {extensions_only}, which defines no resource profile" in output


# -- a full start with the documented names (one, about 50 s) ------------------------------------


@pytest.mark.slow
def test_the_documented_names_configure_a_serving_store(hapi: HapiServer, package: Path, tmp_path: Path) -> None:
    lucene = tmp_path / "index-here"
    public = "http://gateway.example/fhir"
    env = {
        "YHTEYS_PACKAGE_FILE": str(package),
        "YHTEYS_LUCENE_DIR": str(lucene),
        "YHTEYS_SERVER_ADDRESS": public,
        "YHTEYS_DEFAULT_PAGE_SIZE": "3",
        "YHTEYS_MAX_PAGE_SIZE": "4",
    }
    with _running(hapi.jar, tmp_path / "run", env) as run, httpx.Client(base_url=run.base_url, timeout=60.0) as client:
        run.wait_until_ready(READY_SECONDS)
        first_page = client.get("/StructureDefinition", params={"_elements": "url"}).json()
        largest_page = client.get("/StructureDefinition", params={"_elements": "url", "_count": "50"}).json()
        output = run.output()
    assert f"from {package}" in output
    assert _enforced(output) == _profiles(package)
    assert any(lucene.iterdir()), "the terminology index is not in YHTEYS_LUCENE_DIR"
    assert len(first_page["entry"]) == 3  # the package stored 10 StructureDefinitions
    assert len(largest_page["entry"]) == 4
    self_link = next(link["url"] for link in first_page["link"] if link["relation"] == "self")
    assert self_link.startswith(f"{public}/StructureDefinition")


# -- the session's store ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_session_store_enforces_the_packages_profiles(hapi: HapiServer, package: Path) -> None:
    enforced = _enforced(hapi.log_file.read_text(encoding="utf-8", errors="replace"))
    assert enforced.keys() == PROFILED_TYPES
    assert enforced == _profiles(package)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PROFILED_TYPES))
def test_a_resource_without_its_profile_is_refused(
    kind: str, fhir: httpx.Client, demo: DemoLoad, package: Path
) -> None:
    resource = _demo_without_profile(kind)
    marker = f"test-{uuid.uuid4()}"
    resource["identifier"] = [{"system": "urn:yhteys:test", "value": marker}]
    response = fhir.post(f"/{kind}", json=resource, headers=FHIR_JSON)
    assert 400 <= response.status_code < 500, response.text
    (profile,) = _profiles(package)[kind]
    assert any(profile in problem for problem in errors(response.json())), response.text
    assert search_total(fhir, f"/{kind}", identifier=f"urn:yhteys:test|{marker}") == 0


def _demo_without_profile(kind: str) -> dict[str, Any]:
    """A copy of the first demo resource of type `kind`, without id and meta (so no profile)."""
    fresh = _demo_resource(kind)
    fresh.pop("meta", None)
    return fresh


_INDEX_ENTRY = {  # the demo has no document; an index entry of one, as the gateway writes it
    "resourceType": "DocumentReference",
    "status": "current",
    "subject": {"reference": "Patient/demo-client"},
    "content": [{"attachment": {"contentType": "application/fhir+json", "url": "Bundle/x"}}],
}


def _demo_resource(kind: str) -> dict[str, Any]:
    """A copy of the first demo resource of type `kind`, without its id (its profile kept)."""
    if kind == "DocumentReference":
        return copy.deepcopy(_INDEX_ENTRY)
    for entry in demo_bundle()["entry"]:
        resource: dict[str, Any] = entry["resource"]
        if resource["resourceType"] == kind:
            fresh = copy.deepcopy(resource)
            fresh.pop("id", None)
            return fresh
    raise LookupError(kind)


@pytest.mark.slow
def test_a_reference_by_search_is_refused_and_nothing_stored(fhir: httpx.Client, demo: DemoLoad) -> None:
    """Inline match URLs are off: a reference written as a search (`Patient?_id=...`), here one
    that matches exactly the demo client (other tests copy the client with its henkilötunnus, so
    an identifier would match many), is refused rather than resolved, and nothing is stored.
    Sent straight to HAPI: the gateway refuses such references before they reach it."""
    assert search_total(fhir, "/Patient", _id="demo-client") == 1
    goal = _demo_resource("Goal")
    marker = f"test-{uuid.uuid4()}"
    goal["identifier"] = [{"system": "urn:yhteys:test", "value": marker}]
    literal = fhir.post("/Goal/$validate", json=goal, headers=FHIR_JSON)
    assert literal.status_code == 200, literal.text  # valid as it is, with its literal subject
    goal["subject"] = {"reference": "Patient?_id=demo-client"}
    response = fhir.post("/Goal", json=goal, headers=FHIR_JSON)
    assert 400 <= response.status_code < 500, response.text
    assert any("Inline match URLs are not supported" in problem for problem in errors(response.json())), response.text
    assert search_total(fhir, "/Goal", identifier=f"urn:yhteys:test|{marker}") == 0
