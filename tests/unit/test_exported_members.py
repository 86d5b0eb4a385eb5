"""Every public module says what it exports, and exports only what exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "gateway.settings",
    "gateway.fhirpackage",
    "gateway.hapi",
    "gateway.demo",
    "gateway.cli",
    "gateway.errors",
    "gateway.outcomes",
    "gateway.upstream",
    "gateway.fhircall",
    "gateway.searchparams",
    "gateway.redaction",
    "gateway.audit",
    "gateway.audit.record",
    "gateway.audit.sink",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} exports nothing"
    assert sorted(set(exported)) == sorted(exported), f"{name} lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
