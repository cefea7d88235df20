"""Discovery of one-module-per-entry packages (CLI commands, benchmarks)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_REQUIRED = ("NAME", "HELP", "add_arguments", "run")


def discover(package: ModuleType) -> list[ModuleType]:
    """Modules of ``package`` that define NAME, HELP, add_arguments and run, sorted by NAME.

    Raises:
        RuntimeError: a module lacks one of them (a programming error, caught by the tests).
    """
    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
        if missing:
            raise RuntimeError(f"{module.__name__} lacks {', '.join(missing)}")
        modules.append(module)
    return sorted(modules, key=lambda m: str(m.NAME))
