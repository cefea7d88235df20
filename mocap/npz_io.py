"""Reading and writing the plain-array ``.npz`` files of the studio, with one-line errors.

Files hold plain arrays only (strings as fixed-width unicode arrays), so they load with
``numpy.load(..., allow_pickle=False)`` in any tool. Writes are atomic.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from calibration.files import atomic_output
from mocap.errors import FileFormatError, MissingFileError


def read_npz(path: str | Path, required: Iterable[str], what: str) -> dict[str, np.ndarray]:
    """Load every array of an npz file, checking that ``required`` keys are present.

    Args:
        path: the file.
        required: keys that must exist.
        what: what the file should be, for messages (``"a keypoints2d.npz file"``).

    Raises:
        MissingFileError: the file does not exist.
        FileFormatError: not an npz, holds pickled objects, or a required key is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file (expected {what})")
    if not zipfile.is_zipfile(path):
        raise FileFormatError(path, "", f"not a readable .npz file; expected {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise FileFormatError(path, "", f"not a readable .npz file ({exc}); expected {what}") from None
    except ValueError as exc:
        raise FileFormatError(path, "", f"holds pickled objects, which are not loaded ({exc})") from None
    for key in required:
        if key not in arrays:
            raise FileFormatError(path, key, f"missing (file has: {', '.join(sorted(arrays)) or 'nothing'})")
    return arrays


def scalar(path: str | Path, arrays: Mapping[str, np.ndarray], key: str, kind: type) -> Any:
    """A 0-d array from ``arrays[key]`` as a Python ``kind`` (str, float, int), or a FileFormatError."""
    value = arrays[key]
    if value.ndim != 0:
        raise FileFormatError(path, key, f"expected a single value, got shape {value.shape}")
    try:
        return kind(value.item())
    except (TypeError, ValueError):
        raise FileFormatError(path, key, f"expected a {kind.__name__}, got {value.item()!r}") from None


def write_npz(path: str | Path, arrays: Mapping[str, Any]) -> Path:
    """Write arrays to ``path`` atomically (uncompressed, so reading is fast)."""
    with atomic_output(path) as handle:
        np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return Path(path)
