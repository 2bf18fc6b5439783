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
