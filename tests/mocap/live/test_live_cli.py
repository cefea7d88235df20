"""``mocap live``: a few seconds of the rendered studio, the report, recording, bad input."""

import pytest

from mocap.cli import main
from mocap.session.store import Session


def run_cli(capsys, *args):
    code = main(["live", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_live_synthetic_prints_rate_latency_and_stages_and_records(tmp_path, capsys):
    session = tmp_path / "session"
    code, out, err = run_cli(
        capsys, "--seconds", 2, "--detector", "studio", "--size", "320x240", "--fps", 15, "--record", session
    )
    assert code == 0, err
    assert "frame sets: received" in out and "frame sets/s published" in out
    assert "p50" in out and "p95" in out and "p99" in out
    for stage in ("detect", "associate", "triangulate", "smooth"):
        assert f"\n{stage} " in out
    assert "recorded:" in out
    opened = Session.open(session)
    assert opened.rig_path is not None  # the synthetic rig became the session's calibration
    assert len(list((session / "takes").iterdir())) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seconds", 0], "--seconds must be positive"),
        (["--source", "synthetic", "--source", "device:0"], "do not combine"),
        (["--source", "bogus:1"], "expected synthetic, device:N"),
        (["--source", "device:0"], "needs the cameras' calibration"),
        (["--source", "device:0", "--rig", "missing.toml", "--detector", "studio"], "synthetic"),
        (["--device", "cuda:0"], "no CUDA device"),
    ],
)
def test_bad_input_is_one_line(args, message, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_a_camera_that_cannot_open_is_one_line(tmp_path, capsys):
    from calibration.rig import CameraRig
    from calibration.rig_toml import save_rig
    from mocap.capture.setup import synthetic_capture

    camera = synthetic_capture(1, size=(320, 240), num_people=0).rig.cameras[0]
    rig_path = save_rig(CameraRig((camera.replace(name="cam_no_such_video"),)), tmp_path / "rig.toml")
    code, _, err = run_cli(capsys, "--source", f"device:{tmp_path / 'no_such_video'}", "--rig", rig_path)
    assert code == 2 and err.count("\n") == 1
    assert "no camera could be started" in err and "cannot open device" in err


def test_no_session_is_created_when_the_calibration_is_missing(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--source", "device:0", "--record", tmp_path / "session")
    assert code == 2 and "needs the cameras' calibration" in err
    assert not (tmp_path / "session").exists()


def test_file_sources_take_the_names_of_the_rig_cameras(tmp_path):
    from calibration.rig import CameraRig
    from mocap.capture.setup import synthetic_capture
    from mocap.capture.sources import VideoFileSource
    from mocap.errors import MismatchError
    from mocap.live.setup import _name_after_rig

    camera = synthetic_capture(1, size=(320, 240), num_people=0).rig.cameras[0]
    rig = CameraRig((camera.replace(name="cam_01"), camera.replace(name="cam_02")))
    for stem in ("cam01", "CAM-02", "other"):
        (tmp_path / f"{stem}.avi").write_bytes(b"")
    sources = [VideoFileSource(tmp_path / "cam01.avi"), VideoFileSource(tmp_path / "CAM-02.avi")]
    _name_after_rig(sources, rig)
    assert [s.name for s in sources] == ["cam_01", "cam_02"]
    with pytest.raises(MismatchError, match="'other' matches no camera"):
        _name_after_rig([VideoFileSource(tmp_path / "other.avi")], rig)
