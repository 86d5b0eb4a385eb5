"""Every auth module says what it exports, and exports only what exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import auth

MODULES = ["auth", *(f"auth.{info.name}" for info in pkgutil.iter_modules(auth.__path__))]


def test_every_module_is_listed() -> None:
    assert len(MODULES) == 15


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} exports nothing"
    assert sorted(set(exported)) == sorted(exported), f"{name} lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
    assert module.__doc__, f"{name} has no docstring"
