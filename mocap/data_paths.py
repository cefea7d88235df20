"""Where the shared real recordings live (``../shared/data`` beside the repository by default).

``MOCAP_TEST_DATA`` overrides the location. Nothing here downloads anything: callers that need
a file skip or fall back (with a log line) when it is absent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calibration.boards import BoardSpec

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[1]

#: Real walking motion used by the synthetic studio (MIT licence, see its folder).
MOTION_FILE = Path("motion") / "AV_8Walk_Meredith_HVHA_Rep1.bvh"
#: Four USB cameras filming a ChArUco board (intrinsic and extrinsic videos, reference calibration).
CALISCOPE_DIR = Path("caliscope_charuco")


def caliscope_board() -> BoardSpec:
    """The board the caliscope recordings film: 4 x 5 squares of 54 mm, 40.5 mm DICT_4X4_1000 markers,
    printed white on black (see the shared data README)."""
    from calibration.boards import BoardSpec

    return BoardSpec(
        type="charuco",
        columns=4,
        rows=5,
        square_length_m=0.054,
        marker_length_m=0.0405,
        dictionary="DICT_4X4_1000",
        inverted=True,
    )


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
