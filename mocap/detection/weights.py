"""Where the BlazePose model files come from: the mediapipe wheel, never a model hub.

Order of search for a model (``"pose_detection"`` or ``"pose_landmark_full"``):

1. the installed ``mediapipe`` package (found with importlib, not imported);
2. the user cache (``$MOCAP_MODEL_CACHE``, else ``$XDG_CACHE_HOME/mocap-studio/models`` or
   ``~/.cache/mocap-studio/models``; ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows);
3. a ``mediapipe-0.10.14-*.whl`` in ``<cache>/wheels`` (copied there by hand on an offline machine);
4. ``pip download --no-deps mediapipe==0.10.14`` into ``<cache>/wheels`` (once), then the two
   ``.tflite`` files are read out of the wheel (a zip) into the cache.

Failure is one line naming what to install or where to put the wheel.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from calibration.files import atomic_output, ensure_folder
from mocap.errors import FileFormatError, MissingFileError

log = logging.getLogger(__name__)

MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.14"
MODEL_FILES = {
    "pose_detection": "mediapipe/modules/pose_detection/pose_detection.tflite",
    "pose_landmark_full": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
}

#: Runs a command and returns its exit status (replaced in tests to simulate no network).
CommandRunner = Callable[[Sequence[str]], int]


def user_cache_dir() -> Path:
    """The folder where fetched models are kept (see the module docstring)."""
    override = os.environ.get("MOCAP_MODEL_CACHE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "mocap-studio" / "models"


def _check_name(name: str) -> str:
    if name not in MODEL_FILES:
        raise MissingFileError(f"unknown model {name!r}; known: {', '.join(MODEL_FILES)}")
    return MODEL_FILES[name]


def installed_model(name: str) -> Path | None:
    """The model file inside the installed mediapipe package, or None."""
    relative = _check_name(name)
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location).parent / relative
        if path.is_file():
            return path
    return None


def _run_pip(command: Sequence[str]) -> int:
    completed = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if completed.returncode:
        log.info("pip download failed: %s", completed.stderr.strip().splitlines()[-1:] or completed.returncode)
    return completed.returncode


def _wheels(folder: Path) -> list[Path]:
    version = MEDIAPIPE_REQUIREMENT.split("==")[1]
    return sorted(folder.glob(f"mediapipe-{version}-*.whl")) if folder.is_dir() else []


def fetch_wheel(cache_dir: Path, runner: CommandRunner | None = None) -> Path:
    """The mediapipe wheel in ``<cache_dir>/wheels``, downloaded with pip if not there yet.

    Raises:
        MissingFileError: pip could not fetch it (offline) and no wheel was copied there.
    """
    folder = ensure_folder(cache_dir / "wheels")
    found = _wheels(folder)
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        status = (runner or _run_pip)([*command, MEDIAPIPE_REQUIREMENT, "-d", str(folder)])
        found = _wheels(folder)
        if status != 0 or not found:
            raise MissingFileError(
                f"the BlazePose models come from the {MEDIAPIPE_REQUIREMENT} wheel, which is not installed and "
                f"could not be downloaded (no network?): run `pip install {MEDIAPIPE_REQUIREMENT}` "
                f"or copy its wheel into {folder}"
            )
    return found[-1]


def extract_from_wheel(wheel: Path, name: str, cache_dir: Path) -> Path:
    """Copy model ``name`` out of the mediapipe wheel into the cache (atomically); return its path.

    Raises:
        FileFormatError: the wheel is not a readable zip or lacks the model.
    """
    relative = _check_name(name)
    target = ensure_folder(cache_dir) / Path(relative).name
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(relative) as source:
            data = source.read()
    except KeyError:
        raise FileFormatError(wheel, relative, f"missing from the wheel; is it {MEDIAPIPE_REQUIREMENT}?") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileFormatError(wheel, "", f"not a readable wheel ({exc}); delete it and try again") from None
    with atomic_output(target) as handle:
        handle.write(data)
    return target


def model_path(
    name: str,
    *,
    use_installed: bool = True,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    runner: CommandRunner | None = None,
) -> Path:
    """The path of model ``name`` (``"pose_detection"`` or ``"pose_landmark_full"``).

    Args:
        name: which model.
        use_installed: look in the installed mediapipe package first.
        cache_dir: the user cache (default :func:`user_cache_dir`).
        allow_download: run ``pip download`` when neither the package nor a cached copy exists.
        runner: how to run pip (tests pass a failing one to simulate no network).

    Raises:
        MissingFileError: the model cannot be found or fetched (says what to install).
        FileFormatError: a wheel in the cache is damaged.
    """
    if use_installed:
        found = installed_model(name)
        if found is not None:
            return found
    cache = cache_dir or user_cache_dir()
    cached = cache / Path(_check_name(name)).name
    if cached.is_file():
        return cached
    wheels = _wheels(cache / "wheels")
    if not wheels and not allow_download:
        raise MissingFileError(
            f"model {name} not found: install {MEDIAPIPE_REQUIREMENT} (pip install {MEDIAPIPE_REQUIREMENT}) "
            f"or copy its wheel into {cache / 'wheels'}"
        )
    wheel = wheels[-1] if wheels else fetch_wheel(cache, runner)
    log.info("extracting %s from %s into %s", name, wheel.name, cache)
    return extract_from_wheel(wheel, name, cache)
