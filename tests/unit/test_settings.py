"""Settings come from the environment once, with working defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import PROJECT_ROOT, Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == PROJECT_ROOT / "var"
    assert settings.hapi_base_url == "http://127.0.0.1:8080/fhir"
    assert settings.hapi_jdbc_url.startswith(f"jdbc:h2:file:{PROJECT_ROOT / 'var' / 'hapi' / 'h2'}")


def test_postgres_is_chosen_by_url(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "YHTEYS_DATA_DIR": str(tmp_path),
            "YHTEYS_HAPI_PORT": "9090",
            "YHTEYS_HAPI_DB_URL": "jdbc:postgresql://127.0.0.1:5432/yhteys",
            "YHTEYS_HAPI_DB_USER": "yhteys",
        }
    )
    assert settings.hapi_jdbc_url == "jdbc:postgresql://127.0.0.1:5432/yhteys"
    assert settings.hapi_db_user == "yhteys"
    assert settings.hapi_base_url == "http://127.0.0.1:9090/fhir"


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="YHTEYS_HAPI_PORT"):
        Settings.from_env({"YHTEYS_HAPI_PORT": "eighty"})


def test_gateway_origin_follows_the_public_url_when_given() -> None:
    assert Settings.from_env({"YHTEYS_GATEWAY_PORT": "9000"}).gateway_origin == "http://127.0.0.1:9000"
    behind = Settings.from_env({"YHTEYS_GATEWAY_PUBLIC_URL": "https://yhteys.example.fi/"})
    assert behind.gateway_origin == "https://yhteys.example.fi"


def test_the_audit_witness_is_in_the_gateway_dir_unless_named(tmp_path: Path) -> None:
    assert (
        Settings.from_env({"YHTEYS_DATA_DIR": str(tmp_path)}).audit_witness
        == tmp_path / "gateway" / "audit-witness.jsonl"
    )
    named = Settings.from_env({"YHTEYS_AUDIT_WITNESS": str(tmp_path / "elsewhere" / "w.jsonl")})
    assert named.audit_witness == tmp_path / "elsewhere" / "w.jsonl"


def test_the_checkpoint_window_is_a_bounded_setting() -> None:
    assert Settings.from_env({}).audit_checkpoint_ms == 1000
    assert Settings.from_env({"YHTEYS_AUDIT_CHECKPOINT_MS": "250"}).audit_checkpoint_ms == 250
    for bad in ("0", "-5", "60001", "soon"):
        with pytest.raises(SettingsError, match="YHTEYS_AUDIT_CHECKPOINT_MS"):
            Settings.from_env({"YHTEYS_AUDIT_CHECKPOINT_MS": bad})


def test_the_names_ttl_is_a_bounded_setting() -> None:
    assert Settings.from_env({}).names_ttl == 60
    assert Settings.from_env({"YHTEYS_NAMES_TTL": "0"}).names_ttl == 0
    assert Settings.from_env({"YHTEYS_NAMES_TTL": "3600"}).names_ttl == 3600
    for bad in ("-1", "3601", "a minute"):
        with pytest.raises(SettingsError, match="YHTEYS_NAMES_TTL"):
            Settings.from_env({"YHTEYS_NAMES_TTL": bad})
