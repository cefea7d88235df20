"""Writing files so that nothing is ever left half-written.

Every writer of the studio writes to a temporary file in the destination folder and renames it
over the destination only when the content is complete (``os.replace`` is atomic on POSIX and
Windows within one file system). A failure part-way leaves the old file, or no file, behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from calibration.errors import MocapError


class OutputPathError(MocapError, OSError):
    """The destination of a write cannot be used (missing folder, not writable, a directory)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_folder(path: str | Path) -> Path:
    """Create folder ``path`` (and parents) if missing; return it.

    Raises:
        OutputPathError: it cannot be created, is a file, or is not writable.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"{path}: is a file, not a folder") from None
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: folder is not writable")
    return path


def check_writable(path: str | Path) -> Path:
    """Return ``path`` as a Path after checking that a file can be created there.

    Raises:
        OutputPathError: if the parent folder is missing or not writable, or ``path`` is a folder.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputPathError(f"{path}: is a folder; give a file name to write")
    if not parent.is_dir():
        raise OutputPathError(f"{path}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: folder {parent} is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary binary file that replaces ``path`` when the block ends without error.

    Example::

        with atomic_output("poses3d.npz") as f:
            np.savez(f, ...)

    Raises:
        OutputPathError: if ``path`` cannot be written (checked before anything is written).
    """
    path = check_writable(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_output(path) as handle:
        handle.write(text.encode("utf-8"))
    return Path(path)
