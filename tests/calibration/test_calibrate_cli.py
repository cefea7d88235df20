"""``mocap calibrate`` and ``mocap import-calibration`` end to end, and bad input: one line, no file."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.board_detection import MediaDetections
from calibration.calibrate import calibrate_detections_iter
from calibration.errors import CalibrationError
from calibration.progress import drain
from calibration.rig_compare import compare_rigs
from calibration.rig_toml import load_rig
from mocap.cli import main
from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, synthetic_detections, write_board_take


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Four cameras, rendered board images (small: the pipeline, not the accuracy, is under test)."""
    config = BoardStudioConfig(num_cameras=4, intrinsic_views=6, extrinsic_frames=8, supersample=2, seed=11)
    take = generate_board_take(config)
    return take, write_board_take(take, tmp_path_factory.mktemp("boards"))


def test_calibrate_cli_writes_a_rig_close_to_the_truth(rendered, tmp_path, capsys):
    take, files = rendered
    out = tmp_path / "rig.toml"
    extrinsic = [str(p) for p in files.extrinsic.values()]
    intrinsic = [str(p) for p in files.intrinsic.values()]
    code = main(
        ["calibrate", "--board", str(files.board_path), "--intrinsic", *intrinsic, "--extrinsic", *extrinsic]
        + ["--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "rms px" in printed and "wrote" in printed
    rig = load_rig(out)
    assert rig.names == take.rig.names
    assert set(rig.metadata["calibration"]["cameras"]) == set(take.rig.names)
    comparison = compare_rigs(rig, take.rig)
    assert np.max(np.abs(comparison.focal_pct)) < 3.0 and np.max(comparison.centre_m) < 0.05


def run_error(args, capsys):
    code = main(args)
    lines = capsys.readouterr().err.strip().splitlines()  # stage lines, then the error
    err = lines[-1]
    assert code == 2 and err.startswith("mocap: error:")
    assert not any(line.startswith("mocap: error:") or "Traceback" in line for line in lines[:-1])
    return err


def test_camera_that_never_sees_the_board(rendered, tmp_path, capsys):
    _, files = rendered
    blank = tmp_path / "cam_9"
    blank.mkdir()
    import cv2

    for i in range(3):
        cv2.imwrite(str(blank / f"{i:04d}.png"), np.full((480, 640), 110, np.uint8))
    out = tmp_path / "rig.toml"
    extrinsic = [str(p) for p in files.extrinsic.values()] + [str(blank)]
    err = run_error(
        ["calibrate", "--board", str(files.board_path), "--extrinsic", *extrinsic, "--out", str(out)], capsys
    )
    assert "cam_9" in err and "never found" in err and not out.exists()


def test_wrong_board_spec_says_what_to_check(rendered, tmp_path, capsys):
    _, files = rendered
    out = tmp_path / "rig.toml"
    extrinsic = [str(p) for p in files.extrinsic.values()]
    args = ["calibrate", "--board-type", "charuco", "--columns", "5", "--rows", "5", "--square", "0.1"]
    args += ["--marker", "0.075", "--extrinsic", *extrinsic, "--out", str(out)]
    err = run_error(args, capsys)
    assert "cam_1" in err and "columns x rows" in err and not out.exists()
    err = run_error(["calibrate", "--board-type", "charuco", "--extrinsic", *extrinsic, "--out", str(out)], capsys)
    assert "columns" in err and not out.exists()


def test_unreadable_video_and_empty_folder(tmp_path, capsys, rendered):
    _, files = rendered
    bad = tmp_path / "cam_1.mp4"
    bad.write_bytes(b"not a video at all")
    out = tmp_path / "rig.toml"
    board = str(files.board_path)
    err = run_error(["calibrate", "--board", board, "--extrinsic", str(bad), "--out", str(out)], capsys)
    assert "cam_1.mp4" in err and not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    err = run_error(["calibrate", "--board", board, "--extrinsic", str(empty), "--out", str(out)], capsys)
    assert "empty" in err and not out.exists()


def test_cameras_without_overlap_are_named():
    take = generate_board_take(BoardStudioConfig(num_cameras=4, intrinsic_views=8, extrinsic_frames=16, seed=2))
    intrinsic, extrinsic = synthetic_detections(take, 0.2, np.random.default_rng(0))
    # cam_1/cam_2 keep only the frames facing them, cam_3/cam_4 only those facing them: two islands
    keep = {"cam_1": 0, "cam_2": 0, "cam_3": 2, "cam_4": 2}
    split = {
        name: MediaDetections(
            found.path,
            found.image_size,
            found.frames_scanned,
            tuple(d for d in found.detections if d.frame % 4 == keep[name]),
        )
        for name, found in extrinsic.items()
    }
    with pytest.raises(CalibrationError, match="share no board view") as info:
        drain(calibrate_detections_iter(take.board, split, intrinsic))
    message = str(info.value)
    assert "cam_3" in message and "cam_4" in message and "\n" not in message


def test_import_calibration_cli(tmp_path, capsys):
    from mocap.synthetic.cameras import make_rig
    from tests.calibration.test_importers import qualisys_xml

    rig = make_rig(2, np.random.default_rng(1), resolution=(640, 480))
    source = tmp_path / "calib.qca.txt"
    source.write_text(qualisys_xml(rig))
    out = tmp_path / "rig.toml"
    assert main(["import-calibration", str(source), "--from", "qualisys", "--out", str(out)]) == 0
    assert load_rig(out).names == rig.names
    assert "2 cameras" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    out2 = tmp_path / "rig2.toml"
    err = run_error(["import-calibration", str(bad), "--out", str(out2)], capsys)
    assert "bad.json" in err and not out2.exists()
    err = run_error(["import-calibration", str(tmp_path), "--image-size", "12", "--out", str(out2)], capsys)
    assert "image-size" in err and not out2.exists()


def test_lens_prior_and_joint_close_ups_flags(rendered, tmp_path, capsys):
    take, files = rendered
    out = tmp_path / "rig.toml"
    extrinsic = [str(p) for p in files.extrinsic.values()]
    intrinsic = [str(p) for p in files.intrinsic.values()]
    base = ["calibrate", "--board", str(files.board_path), "--intrinsic", *intrinsic, "--extrinsic", *extrinsic]
    with pytest.raises(SystemExit) as info:
        main([*base, "--lens-prior", "-1", "--out", str(out)])
    assert info.value.code == 2 and "negative" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--lens-prior", "4", "--joint-close-ups", "--out", str(out)]) == 0
    comparison = compare_rigs(load_rig(out), take.rig)
    assert np.max(np.abs(comparison.focal_pct)) < 3.0 and np.max(comparison.centre_m) < 0.05
