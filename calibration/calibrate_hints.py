"""What to tell a user whose board is never found: probe a few frames for the likely cause.

Called only on the error path, so it may spend a second: it reads up to ``max_frames`` frames and
checks, for a ChArUco board, whether markers of the board's dictionary appear at all, appear only
when the image is inverted (the ``inverted`` flag is wrong), or appear without the board's corners
being found (columns, rows or the legacy layout are wrong); for a checkerboard, whether a grid of
another size is found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.boards import BoardSpec
from calibration.errors import MocapError
from calibration.media import open_frames


def _marker_counts(path: Path, board: BoardSpec, max_frames: int) -> tuple[int, int, int]:
    """Markers found in normal and inverted images, and the most distinct ids seen in one frame."""
    import cv2

    detector = cv2.aruco.ArucoDetector(board.cv_dictionary(), cv2.aruco.DetectorParameters())
    normal = inverted = most = 0
    with open_frames(path) as source:
        step = max(1, source.info.num_frames // max_frames)
        for count, (_, image) in enumerate(source.frames(step=step)):
            if count >= max_frames:
                break
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            for flip, name in ((False, "normal"), (True, "inverted")):
                _, ids, _ = detector.detectMarkers(255 - gray if flip else gray)
                n = 0 if ids is None else len(ids)
                if name == "normal":
                    normal += n
                else:
                    inverted += n
                if ids is not None and flip == board.inverted:
                    most = max(most, len(np.unique(ids)))
    return normal, inverted, most


def board_not_found_hint(path: str | Path, board: BoardSpec, max_frames: int = 12) -> str:
    """One clause saying what to check when ``board`` is never found in ``path``."""
    path = Path(path)
    if board.type == "checkerboard":
        return (
            f"check that it shows the board and that columns x rows ({board.columns}x{board.rows}) count the "
            f"squares (inner corners {board.corner_grid[0]}x{board.corner_grid[1]})"
        )
    try:
        normal, inverted, most = _marker_counts(path, board, max_frames)
    except MocapError:
        return "check that the file is readable"
    wanted, other = (inverted, normal) if board.inverted else (normal, inverted)
    if wanted == 0 and other > 0:
        flag = "false" if board.inverted else "true"
        return f"its {board.dictionary} markers appear only with the opposite print: set inverted = {flag}"
    if wanted == 0:
        return (
            f"no {board.dictionary} markers are visible in it: check the dictionary and that the video shows the board"
        )
    return (
        f"{board.dictionary} markers are visible (up to {most} in a frame) but not the board's corners: check "
        f"columns x rows ({board.columns}x{board.rows}), the legacy flag and marker_length_m"
    )
