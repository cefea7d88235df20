import numpy as np
import pytest

from calibration.boards import BoardSpec, board_from_mapping, board_from_toml, load_board, save_board
from calibration.errors import FileFormatError, MissingFileError

CHARUCO = {
    "type": "charuco",
    "columns": 4,
    "rows": 5,
    "square_length_m": 0.054,
    "marker_length_m": 0.0405,
    "dictionary": "DICT_4X4_1000",
    "inverted": True,
}


def test_corner_ids_and_positions_follow_opencv():
    board = BoardSpec(**CHARUCO)
    assert board.corner_grid == (3, 4) and board.num_corners == 12 and board.num_markers == 10
    points = board.object_points()
    assert points.shape == (12, 3) and not points.flags.writeable
    # id k at column k % 3, row k // 3, one square in from the board's origin corner
    np.testing.assert_allclose(points[0], [0.054, 0.054, 0.0])
    np.testing.assert_allclose(points[1], [0.108, 0.054, 0.0])
    np.testing.assert_allclose(points[3], [0.054, 0.108, 0.0])
    np.testing.assert_allclose(points, np.asarray(board.cv_board().getChessboardCorners(), float), atol=1e-7)


def test_checkerboard_counts_squares():
    board = BoardSpec(type="checkerboard", columns=5, rows=8, square_length_m=0.06)
    assert board.corner_grid == (4, 7) and board.num_corners == 28
    assert board.size_m == pytest.approx((0.3, 0.48))
    with pytest.raises(ValueError, match="only charuco"):
        board.cv_board()


def test_texture_is_the_print_and_inverts():
    board = BoardSpec(**{**CHARUCO, "inverted": False})
    texture = board.texture(32, margin_squares=0.5)
    assert texture.shape == (5 * 32 + 32, 4 * 32 + 32) and texture.dtype == np.uint8
    assert texture[0, 0] == 255  # white margin
    inverted = BoardSpec(**CHARUCO).texture(32)
    np.testing.assert_array_equal(inverted, 255 - texture)
    checker = BoardSpec(type="checkerboard", columns=3, rows=2, square_length_m=0.1).texture(8, margin_squares=0)
    assert checker[0, 0] == 0 and checker[0, 8] == 255 and checker[8, 0] == 255


def test_toml_round_trip(tmp_path):
    board = BoardSpec(**{**CHARUCO, "dictionary": "dict_4x4_1000"})
    assert board.dictionary == "DICT_4X4_1000"
    path = save_board(board, tmp_path / "board.toml")
    assert load_board(path) == board
    nested = board_from_toml('[board]\ntype = "checkerboard"\ncolumns = 5\nrows = 8\nsquare_length_m = 0.06\n')
    assert nested.type == "checkerboard"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"marker_length_m": None}, "", "marker_length_m is required"),
        ({"marker_length_m": 0.06}, "", "must be smaller than square_length_m"),
        ({"dictionary": "DICT_9X9_5"}, "", "unknown dictionary"),
        ({"columns": 30, "rows": 30, "dictionary": "DICT_4X4_50"}, "", "needs 450 markers"),
        ({"columns": 1}, "columns", "greater than or equal to 2"),
        ({"square": 0.05}, "square", "unknown field"),
        ({"type": "circles"}, "type", "charuco"),
    ],
)
def test_bad_board_specs_are_one_line_errors(change, field, words):
    values = {**CHARUCO, **change}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(FileFormatError) as info:
        board_from_mapping(values, "board.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("board.toml") and words in message
    if field:
        assert f": {field}:" in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(MissingFileError, match="no such board file"):
        load_board(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("type = [")
    with pytest.raises(FileFormatError, match="not valid TOML"):
        load_board(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text('type = "charuco"\ncolumns = 4\n')
    with pytest.raises(FileFormatError, match="rows: missing"):
        load_board(missing)
