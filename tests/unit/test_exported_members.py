"""Every module of our packages says what it exports, exports only what exists, and says what
it is for (a docstring)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import auth
import gateway
import mappings


def _modules() -> list[str]:
    names = []
    for package in (auth, gateway, mappings):
        names.append(package.__name__)
        names.extend(info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."))
    return sorted(names)


MODULES = _modules()


def test_the_walk_finds_the_modules() -> None:
    assert {"auth.server", "gateway.cli.main", "gateway.access.policy.engine", "gateway.audit.sink"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported or hasattr(module, "__path__"), f"{name} exports nothing"  # a package may not
    assert sorted(set(exported)) == sorted(exported), f"{name} lists a name twice"
    assert [n for n in exported if not hasattr(module, n)] == []
    assert module.__doc__, f"{name} has no docstring"
