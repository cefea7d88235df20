"""``mocap record``: a short synthetic take from the command line, and its one-line errors."""

from mocap.cli import main
from mocap.session.store import Session


def test_record_a_short_synthetic_take(tmp_path, capsys):
    argv = ["record", str(tmp_path / "s"), "--source", "synthetic", "--cameras", "2", "--people", "1"]
    assert main([*argv, "--size", "160x120", "--seconds", "1", "--take", "short"]) == 0
    out = capsys.readouterr().out
    assert "status: complete" in out and "dropped 0;" in out and "cam_1:" in out and "cam_2:" in out
    session = Session.open(tmp_path / "s")
    take = session.take("short")
    assert take.info.status == "complete" and 20 <= take.info.frame_sets <= 31
    assert session.rig_path is not None and session.load_rig().names == ("cam_1", "cam_2")  # ready to process


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    cases = [
        (["--source", "synthetic", "--seconds", "-1"], "--seconds must be positive"),
        (["--source", "webcam"], "webcam"),
        (["--source", "file:" + str(tmp_path / "absent.mp4")], "absent.mp4"),
        (["--source", "synthetic", "--size", "wide"], "wide"),
    ]
    for extra, message in cases:
        assert main(["record", str(tmp_path / "s"), *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert err.startswith("mocap: error:") and message in err and "\n" not in err, (extra, err)
    assert not (tmp_path / "s" / "takes").exists() or not any((tmp_path / "s" / "takes").iterdir())
