"""Discovery of one-module-per-entry packages (CLI commands, benchmarks) and of plugins.

Plugins register modules of the same shape under an entry-point group in their package metadata,
e.g. the Qt application adds ``mocap gui`` with::

    [project.entry-points."mocap.commands"]
    gui = "ui.command"

so the ``mocap`` CLI offers it without ``mocap`` ever importing ``ui`` (the layering rule).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from importlib.metadata import entry_points
from types import ModuleType

log = logging.getLogger(__name__)

_REQUIRED = ("NAME", "HELP", "add_arguments", "run")


def discover(package: ModuleType, group: str | None = None) -> list[ModuleType]:
    """Modules of ``package`` (plus entry points of ``group``) defining NAME, HELP, add_arguments
    and run, sorted by NAME.

    A plugin that fails to import is logged and left out, so a broken optional part (say, Qt
    libraries missing on a server) never takes the headless commands down with it.

    Raises:
        RuntimeError: a module lacks one of the four names (a programming error, caught by tests).
    """
    modules = []
    if group is not None:
        for entry in entry_points(group=group):
            try:
                plugin = entry.load()
            except Exception as exc:  # any import failure of an optional plugin
                log.warning("plugin %s (%s) could not be loaded: %s", entry.name, entry.value, exc)
                continue
            modules.append(plugin)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    for module in modules:
        missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
        if missing:
            raise RuntimeError(f"{module.__name__} lacks {', '.join(missing)}")
    return sorted(modules, key=lambda m: str(m.NAME))
