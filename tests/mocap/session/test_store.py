"""Sessions and takes on disk: layout, schema checks, calibration, recovery of abandoned recordings."""

import subprocess
import sys

import numpy as np
import pytest

from calibration.rig_toml import load_rig
from mocap.capture.video import VideoWriter
from mocap.errors import FileFormatError, MismatchError, MissingFileError, MocapError
from mocap.session.schema import CameraEntry
from mocap.session.store import NoCalibrationError, Session, Take
from mocap.session.timestamps import TimestampWriter
from mocap.synthetic.studio import StudioConfig, generate_take


def entries(*names, size=(64, 48)):
    return [CameraEntry(name=n, video=f"{n}.mkv", timestamps=f"{n}.timestamps.csv", size=size) for n in names]


def test_session_is_created_reopened_and_lists_takes_in_natural_order(tmp_path):
    session = Session.create(tmp_path / "s")
    assert (tmp_path / "s" / "session.toml").is_file()
    assert (tmp_path / "s" / "calibration").is_dir() and (tmp_path / "s" / "takes").is_dir()
    for name in ("take_10", "take_2", "take_1"):
        session.new_take(entries("cam_1"), 30.0, name=name)
    again = Session.open(tmp_path / "s")
    assert again.info.name == "s"
    assert again.take_names() == ["take_1", "take_2", "take_10"]
    assert again.next_take_name() == "take_001"
    take = again.take("take_2")
    assert take.info.status == "interrupted"  # created for recording, but no recorder holds it
    assert take.camera_names == ("cam_1",)
    with pytest.raises(MocapError, match="holds a session already"):
        Session.create(tmp_path / "s")
    with pytest.raises(MissingFileError, match="no take named 'nope'"):
        again.take("nope")


def test_open_refuses_a_folder_without_session(tmp_path):
    with pytest.raises(MissingFileError, match="not a session"):
        Session.open(tmp_path)


def test_no_calibration_is_a_one_line_error_and_set_calibration_round_trips(tmp_path):
    session = Session.create(tmp_path / "s")
    with pytest.raises(NoCalibrationError, match="has no calibration") as info:
        session.load_rig()
    assert "\n" not in str(info.value)
    rig = generate_take(StudioConfig(num_frames=1, num_cameras=3)).rig
    path = session.set_calibration(rig)
    assert path == tmp_path / "s" / "calibration" / "rig.toml"
    assert Session.open(tmp_path / "s").load_rig().cameras == rig.cameras == load_rig(path).cameras


def test_take_names_and_camera_names_are_checked(tmp_path):
    session = Session.create(tmp_path / "s")
    with pytest.raises(MocapError, match="use letters"):
        session.new_take(entries("cam_1"), 30.0, name="../escape")
    with pytest.raises(MismatchError, match="repeat"):
        session.new_take(entries("cam_1", "cam_1"), 30.0)
    session.new_take(entries("cam_1"), 30.0, name="a")
    with pytest.raises(MocapError, match="exists"):
        session.new_take(entries("cam_1"), 30.0, name="a")


def test_malformed_take_toml_names_the_field(tmp_path):
    session = Session.create(tmp_path / "s")
    take = session.new_take(entries("cam_1"), 30.0, name="t")
    path = take.root / "take.toml"
    path.write_text(path.read_text().replace("fps = 30.0", "fps = -1.0"))
    with pytest.raises(FileFormatError, match="fps"):
        Take.open(take.root)
    path.write_text(path.read_text().replace("fps = -1.0", "fps = 30.0\nspeed = 3"))
    with pytest.raises(FileFormatError, match="speed"):
        Take.open(take.root)
    path.write_text(path.read_text().replace("schema_version = 1", "schema_version = 99"))
    with pytest.raises(FileFormatError, match="newer"):
        Take.open(take.root)


def test_frame_counts_that_disagree_are_reported(tmp_path):
    session = Session.create(tmp_path / "s")
    cams = [e.model_copy(update={"frames": f}) for e, f in zip(entries("a", "b"), (100, 98), strict=True)]
    take = session.new_take(cams, 30.0, name="t", status="imported")
    with pytest.raises(MismatchError, match=r"a: 100, b: 98"):
        take.check_frame_counts()


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_abandoned_recording_is_recovered_from_what_is_on_disk(tmp_path):
    session = Session.create(tmp_path / "s")
    take = session.new_take(entries("cam_1", "cam_2"), 30.0, name="t")
    (take.root / ".recording").write_text(f"{_dead_pid()} {__import__('socket').gethostname()}\n")
    frames = {"cam_1": 20, "cam_2": 15}
    for name, count in frames.items():
        with VideoWriter(take.root / f"{name}.mkv", (64, 48), 30.0) as video:
            for i in range(count):
                video.write(np.full((48, 64, 3), 10 * i % 250, np.uint8))
        stamps = TimestampWriter(take.root / f"{name}.timestamps.csv")
        sets = [s for s in range(25) if not (name == "cam_2" and 5 <= s < 10)]  # cam_2 missed sets 5-9
        for s in sets[: count + 3]:  # 3 rows more than the video holds: written but never encoded
            stamps.write(s, s / 30.0, s / 30.0 + 0.002)
        stamps.close()
    with open(take.root / "cam_1.timestamps.csv", "a") as handle:
        handle.write("23,23,0.76")  # cut short by the kill
    recovered = Take.open(take.root)
    assert recovered.info.status == "interrupted"
    assert "crash" in recovered.info.stop_reason
    assert [c.frames for c in recovered.info.cameras] == [20, 15]
    assert recovered.info.frame_sets == 20
    gaps = recovered.info.cameras[1].gaps
    assert [(g.first_set, g.last_set) for g in gaps] == [(5, 9)]
    assert gaps[0].start_s == pytest.approx(5 / 30.0, abs=1e-6)
    assert not (take.root / ".recording").exists()
    table = recovered.timestamps("cam_2")
    assert len(table) == 15 and table.frame_set[5] == 10
    frame_map = recovered.frame_map()
    assert frame_map.shape == (20, 2) and frame_map[7, 1] == -1 and frame_map[10, 1] == 5
    # reopened later: nothing to recover any more, same answer
    assert Take.open(take.root).info.cameras[1].frames == 15


def test_a_take_whose_recorder_is_alive_is_left_alone(tmp_path):
    session = Session.create(tmp_path / "s")
    take = session.new_take(entries("cam_1"), 30.0, name="t")
    take.acquire_recording_lock()
    assert take.recorder_alive()
    assert Take.open(take.root).info.status == "recording"
