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
