"""Lazy public names for a package (PEP 562): ``import resnet_core.analysis`` costs nothing,
and ``analysis.training_curves`` imports the module that defines it on first use."""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, table: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for ``package``: each public name -> its module."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        full = module if module.startswith("resnet_core.") else f"{package}.{module}"
        value = getattr(importlib.import_module(full), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__


# -- stubs: the lazy names, visible to editors and type checkers -----------------------------

STUB_HEADER = ("# Generated from {table} by `python tests/core/test_architecture.py`; do not edit.\n"
               "# That test file checks it equals what the table gives.\n")


def stub_text(package: str, table: dict[str, str], *, table_name: str = "PUBLIC",
              extra: tuple[str, ...] = ()) -> str:
    """An ``__init__.pyi`` for a package whose names load lazily: one re-export a name (a type
    checker reads the stub instead of the module, and sees the names the table promises)."""
    lines = [STUB_HEADER.format(table=table_name)]
    for name, module in sorted(table.items(), key=lambda item: (_full(package, item[1]),
                                                                _isort_rank(item[0]),
                                                                item[0].lower(), item[0])):
        lines.append(f"from {_full(package, module)} import {name} as {name}")
    lines += ["", *extra, f"{table_name}: dict[str, str]", ""]
    return "\n".join(lines)


def _full(package: str, module: str) -> str:
    return module if module.startswith("resnet_core.") else f"{package}.{module}"


def _isort_rank(name: str) -> int:
    """isort's (and ruff's) order of names from one module: CONSTANTS, Classes, functions."""
    return 0 if name.isupper() else 1 if name[:1].isupper() else 2
