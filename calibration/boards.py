"""Calibration targets: ChArUco and checkerboard specs, their corner geometry, TOML files, textures.

Board frame
-----------
Both kinds share one frame, the one OpenCV uses for ChArUco boards: the origin is the outer corner
of the top-left square of the printed board, ``x`` runs along the ``columns`` (to the right on the
print), ``y`` along the ``rows`` (down the print), ``z = x × y`` points *into* the print (away from a
viewer who faces it). Units are metres. Inner corner ``k`` sits at column ``k % (columns - 1)``, row
``k // (columns - 1)``, i.e. at ``((c + 1) s, (r + 1) s, 0)`` for square length ``s``; its id is ``k``
(ChArUco corner ids follow the same numbering).

``columns`` and ``rows`` always count **squares** (as OpenCV's ``CharucoBoard`` does), for both
kinds. A checkerboard described by OpenCV's ``patternSize`` of inner corners ``(4, 7)`` is
``columns = 5, rows = 8`` here.

Board TOML (keys at the top level or under ``[board]``)::

    type = "charuco"            # or "checkerboard"
    columns = 4                 # squares along x
    rows = 5                    # squares along y
    square_length_m = 0.054
    marker_length_m = 0.0405    # ChArUco only
    dictionary = "DICT_4X4_1000"
    inverted = true             # printed white-on-black
    legacy = false              # OpenCV < 4.6 ChArUco layout (only matters for an even row count)
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tomli_w
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calibration.errors import FileFormatError, MissingFileError
from calibration.files import write_text_atomic

#: Markers in each predefined OpenCV dictionary (by the name cv2.aruco uses, case-insensitive).
DICTIONARY_SIZES: dict[str, int] = {
    **{f"DICT_{b}X{b}_{n}": n for b in (4, 5, 6, 7) for n in (50, 100, 250, 1000)},
    "DICT_ARUCO_ORIGINAL": 1024,
    "DICT_APRILTAG_16H5": 30,
    "DICT_APRILTAG_25H9": 35,
    "DICT_APRILTAG_36H10": 2320,
    "DICT_APRILTAG_36H11": 587,
    "DICT_ARUCO_MIP_36H12": 250,
}


def _dictionary_name(name: str) -> str:
    """Canonical (upper-case, ``DICT_`` prefixed) dictionary name."""
    upper = name.strip().upper()
    return upper if upper.startswith("DICT_") else f"DICT_{upper}"


class BoardSpec(BaseModel):
    """A calibration target as printed.

    Construction validates the geometry and raises ``pydantic.ValidationError``; use
    :func:`board_from_mapping` or :func:`load_board` for one-line :class:`FileFormatError` messages.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["charuco", "checkerboard"] = Field(description="Kind of target.")
    columns: int = Field(ge=2, le=100, description="Squares along the board's x axis.")
    rows: int = Field(ge=2, le=100, description="Squares along the board's y axis.")
    square_length_m: float = Field(gt=0, lt=10, description="Side of one square, metres.")
    marker_length_m: float | None = Field(
        None, gt=0, description="Side of one ArUco marker, metres (ChArUco only; smaller than a square)."
    )
    dictionary: str = Field("DICT_4X4_50", description="OpenCV predefined ArUco dictionary (ChArUco only).")
    inverted: bool = Field(False, description="Printed inverted: white markers and squares on black.")
    legacy: bool = Field(False, description="ChArUco layout of OpenCV before 4.6 (setLegacyPattern).")

    @field_validator("dictionary", mode="before")
    @classmethod
    def _canonical_dictionary(cls, value: Any) -> Any:
        return _dictionary_name(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> BoardSpec:
        if self.type == "charuco":
            if self.marker_length_m is None:
                raise ValueError("marker_length_m is required for a charuco board")
            if self.marker_length_m >= self.square_length_m:
                raise ValueError(
                    f"marker_length_m ({self.marker_length_m:g}) must be smaller than "
                    f"square_length_m ({self.square_length_m:g})"
                )
            name = self.dictionary
            if name not in DICTIONARY_SIZES:
                known = ", ".join(sorted(DICTIONARY_SIZES))
                raise ValueError(f"unknown dictionary {self.dictionary!r}; use one of {known}")
            needed = self.num_markers
            if needed > DICTIONARY_SIZES[name]:
                raise ValueError(
                    f"a {self.columns}x{self.rows} charuco board needs {needed} markers, "
                    f"{name} has {DICTIONARY_SIZES[name]}; use a larger dictionary"
                )
        return self

    # ------------------------------------------------------------------ geometry

    @property
    def corner_grid(self) -> tuple[int, int]:
        """Inner corners ``(along x, along y)`` = ``(columns - 1, rows - 1)``."""
        return (self.columns - 1, self.rows - 1)

    @property
    def num_corners(self) -> int:
        """Number of inner corners (the points that are detected)."""
        return (self.columns - 1) * (self.rows - 1)

    @property
    def num_markers(self) -> int:
        """ArUco markers on a ChArUco board (one in every other square)."""
        return (self.columns * self.rows) // 2

    @property
    def size_m(self) -> tuple[float, float]:
        """Printed area of the squares ``(width along x, height along y)``, metres."""
        return (self.columns * self.square_length_m, self.rows * self.square_length_m)

    @cached_property
    def _object_points(self) -> NDArray[np.float64]:
        nx, ny = self.corner_grid
        cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
        points = np.zeros((nx * ny, 3))
        points[:, 0] = (cols.ravel() + 1) * self.square_length_m
        points[:, 1] = (rows.ravel() + 1) * self.square_length_m
        points.setflags(write=False)
        return points

    def object_points(self) -> NDArray[np.float64]:
        """Inner corners in the board frame ``(num_corners, 3)``, metres, indexed by corner id (read-only)."""
        return self._object_points

    def describe(self) -> str:
        """One line for reports: ``charuco 4x5 squares of 54 mm, DICT_4X4_1000, inverted``."""
        text = f"{self.type} {self.columns}x{self.rows} squares of {self.square_length_m * 1000:g} mm"
        if self.type == "charuco":
            text += f", markers {self.marker_length_m * 1000:g} mm, {self.dictionary}"  # type: ignore[operator]
        if self.inverted:
            text += ", inverted"
        if self.legacy:
            text += ", legacy layout"
        return text

    # ------------------------------------------------------------------ OpenCV objects

    def cv_dictionary(self) -> Any:
        """The ``cv2.aruco.Dictionary`` of a ChArUco board."""
        import cv2

        return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))

    def cv_board(self) -> Any:
        """The ``cv2.aruco.CharucoBoard`` of a ChArUco board (legacy pattern applied).

        Raises:
            ValueError: for a checkerboard, which has no OpenCV board object.
        """
        import cv2

        if self.type != "charuco":
            raise ValueError("only charuco boards have an OpenCV board object")
        board = cv2.aruco.CharucoBoard(
            (self.columns, self.rows), self.square_length_m, float(self.marker_length_m or 0.0), self.cv_dictionary()
        )
        board.setLegacyPattern(self.legacy)
        return board

    def texture(self, pixels_per_square: int = 64, margin_squares: float = 0.5) -> NDArray[np.uint8]:
        """The board as printed: a grayscale image ``(H, W)`` uint8, as the print's ink looks.

        The squares' area starts ``margin_px = round(margin_squares * pixels_per_square)`` pixels from
        the top-left of the image, so board point ``(x, y)`` (metres) is at pixel
        ``margin_px - 0.5 + x / square_length_m * pixels_per_square`` (pixel centres at integers).
        The white margin is part of the print (inverted prints have a black margin).
        """
        if pixels_per_square < 4:
            raise ValueError("pixels_per_square must be at least 4")
        margin = round(margin_squares * pixels_per_square)
        width, height = self.columns * pixels_per_square, self.rows * pixels_per_square
        if self.type == "charuco":
            image = np.asarray(self.cv_board().generateImage((width, height), marginSize=0, borderBits=1))
        else:
            rows, cols = np.mgrid[0:height, 0:width] // pixels_per_square
            # OpenCV's convention: the top-left square is black.
            image = np.where((rows + cols) % 2 == 0, 0, 255).astype(np.uint8)
        canvas = np.full((height + 2 * margin, width + 2 * margin), 255, dtype=np.uint8)
        canvas[margin : margin + height, margin : margin + width] = image
        return (255 - canvas) if self.inverted else canvas


# ---------------------------------------------------------------------- files


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    """(field, problem) of the first pydantic error, phrased for one line."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    message = re.sub(r"^Value error, ", "", message)
    if first.get("type") == "extra_forbidden":
        message = (
            "unknown field; expected type, columns, rows, square_length_m, marker_length_m, dictionary, "
            "inverted, legacy"
        )
    elif first.get("type") == "missing":
        message = "missing"
    return field, message


def board_from_mapping(values: dict[str, Any], path: str | Path = "<board>") -> BoardSpec:
    """Validate a board description (a TOML table or CLI values).

    Raises:
        FileFormatError: naming ``path`` and the offending field.
    """
    table = values.get("board", values) if isinstance(values.get("board"), dict) else values
    try:
        return BoardSpec(**table)
    except ValidationError as exc:
        field, problem = _validation_message(exc)
        raise FileFormatError(path, field, problem) from None
    except TypeError as exc:
        raise FileFormatError(path, "", f"not a board description ({exc})") from None


def board_from_toml(text: str, path: str | Path = "<string>") -> BoardSpec:
    """Parse board TOML text (see the module docstring); ``path`` is for messages.

    Raises:
        FileFormatError: malformed TOML or an invalid field.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(path, "", f"not valid TOML ({exc})") from None
    return board_from_mapping(document, path)


def load_board(path: str | Path) -> BoardSpec:
    """Read a board TOML file.

    Raises:
        MissingFileError: the file does not exist.
        FileFormatError: see :func:`board_from_toml`.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such board file; write one (see 'mocap calibrate --help')")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, "", f"cannot be read as UTF-8 text ({exc})") from None
    return board_from_toml(text, path)


def board_to_dict(board: BoardSpec) -> dict[str, Any]:
    """The board as a plain dict (TOML-safe, no None), e.g. for rig metadata."""
    return board.model_dump(exclude_none=True)


def save_board(board: BoardSpec, path: str | Path) -> Path:
    """Write a board TOML file atomically."""
    return write_text_atomic(path, tomli_w.dumps(board_to_dict(board)))
