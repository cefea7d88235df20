"""Where the shared real recordings live (``../shared/data`` beside the repository by default).

``MOCAP_TEST_DATA`` overrides the location. Nothing here downloads anything: callers that need
a file skip or fall back (with a log line) when it is absent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[1]

#: Real walking motion used by the synthetic studio (MIT licence, see its folder).
MOTION_FILE = Path("motion") / "AV_8Walk_Meredith_HVHA_Rep1.bvh"


def shared_data_dir() -> Path | None:
    """The shared data folder, or None when it is absent."""
    override = os.environ.get("MOCAP_TEST_DATA")
    candidate = Path(override) if override else _REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def shared_file(relative: str | Path) -> Path | None:
    """A file inside the shared data folder, or None when it (or the folder) is absent."""
    root = shared_data_dir()
    if root is None:
        return None
    path = root / relative
    return path if path.exists() else None


def default_motion_file() -> Path | None:
    """The real walk BVH when present (the synthetic studio falls back to a procedural gait)."""
    return shared_file(MOTION_FILE)
