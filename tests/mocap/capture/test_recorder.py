"""Recording takes: gaps for a stalled camera, disk-space checks, and a kill -9 mid-take."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibration.progress import CancelToken
from mocap.capture.grabber import Grabber
from mocap.capture.recorder import DiskFullError, RecorderConfig, record_take
from mocap.capture.setup import synthetic_capture
from mocap.capture.sources import Stall
from mocap.session.media import count_decodable_frames
from mocap.session.store import Session, Take
from mocap.synthetic.render import read_code

ROOT = Path(__file__).resolve().parents[3]
PLENTY = SimpleNamespace(free=10**12)


def test_a_stalled_camera_leaves_a_gap_and_the_others_record(tmp_path):
    session = Session.create(tmp_path / "s")
    capture = synthetic_capture(3, size=(320, 240), num_people=1, seed=5, stalls={1: [Stall(1.0, 0.8)]})
    with Grabber(capture.sources, 30.0) as grabber:
        result = record_take(session, grabber, seconds=3.0, name="t", disk_usage=lambda _: PLENTY)
    assert result.status == "complete" and result.grabber.dropped_sets == 0
    # ticks a rendered camera skipped because the machine was too busy to draw them in time (a real
    # camera drops frames the same way); 0 on a quiet machine, where every count below is exact
    busy = {s.name: s.skipped for s in capture.sources}
    assert 90 - sum(busy.values()) <= result.frame_sets <= 90
    take = Take.open(session.takes_dir / "t")
    assert take.info.status == "complete" and take.info.frame_sets == result.frame_sets
    sets = take.info.frame_sets
    cams = {c.name: c for c in take.info.cameras}

    def missed(camera):
        return sum(g.last_set - g.first_set + 1 for g in cams[camera].gaps)

    for camera in ("cam_1", "cam_3"):
        assert missed(camera) <= busy[camera] and cams[camera].frames == sets - missed(camera)
    gap = max(cams["cam_2"].gaps, key=lambda g: g.last_set - g.first_set)  # the stall
    assert missed("cam_2") - (gap.last_set - gap.first_set + 1) <= busy["cam_2"], (cams["cam_2"].gaps, busy)
    origin = take.info.recording["capture_clock_at_start_s"]  # capture-clock time of take time 0
    assert 0.95 <= gap.start_s + origin <= 1.1 and 1.75 <= gap.end_s + origin <= 2.1
    assert cams["cam_2"].frames == sets - missed("cam_2")
    # every frame in the videos is where its timestamp row says: the drawn tick matches the time
    source = {s.name: s for s in capture.sources}
    for camera in take.camera_names:
        table = take.timestamps(camera)
        with take.open_video(camera) as frames:
            ticks = np.array([read_code(image) for _, image in frames.frames()])
        assert len(ticks) == len(table) == cams[camera].frames
        exposure = np.array([source[camera].tick_time(int(t)) for t in ticks])
        np.testing.assert_allclose(np.diff(table.timestamp_s), np.diff(exposure), atol=3e-3)
    frame_map = take.frame_map()
    assert frame_map.shape == (sets, 3) and (frame_map[:, 1] == -1).sum() == missed("cam_2")


def test_not_enough_disk_space_refuses_to_start(tmp_path):
    session = Session.create(tmp_path / "s")
    capture = synthetic_capture(2, size=(320, 240), num_people=1)
    with Grabber(capture.sources, 30.0) as grabber, pytest.raises(DiskFullError, match="GB free") as info:
        record_take(session, grabber, seconds=10.0, disk_usage=lambda _: SimpleNamespace(free=100 << 20))
    assert "\n" not in str(info.value)
    assert session.take_names() == []


def test_a_disk_filling_up_ends_the_take_cleanly(tmp_path):
    session = Session.create(tmp_path / "s")
    capture = synthetic_capture(2, size=(320, 240), num_people=1)
    started = time.monotonic()

    def shrinking(_path):
        return PLENTY if time.monotonic() - started < 1.5 else SimpleNamespace(free=10 << 20)

    config = RecorderConfig(disk_check_interval_s=0.1)
    with Grabber(capture.sources, 30.0) as grabber, pytest.raises(DiskFullError, match="going on"):
        record_take(session, grabber, seconds=20.0, name="t", config=config, disk_usage=shrinking)
    take = Take.open(session.takes_dir / "t")
    assert take.info.status == "stopped" and take.info.stop_reason.startswith("disk full")
    for entry in take.info.cameras:
        assert entry.frames > 10
        assert count_decodable_frames(take.root / entry.video) == entry.frames == len(take.timestamps(entry.name))


def test_cancel_ends_the_take_cleanly(tmp_path):
    session = Session.create(tmp_path / "s")
    capture = synthetic_capture(2, size=(320, 240), num_people=1)
    cancel = CancelToken()
    seen = []

    def on_set(frame_set):
        seen.append(frame_set.index)
        if len(seen) == 20:
            cancel.cancel()

    with Grabber(capture.sources, 30.0) as grabber:
        result = record_take(session, grabber, cancel=cancel, on_set=on_set, disk_usage=lambda _: PLENTY)
    assert result.status == "complete" and result.stop_reason == "stopped by the user"
    assert result.frame_sets in (20, 21)


def _rows(path):
    try:
        return max(0, path.read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0


def test_kill_9_while_recording_loses_at_most_the_last_second(tmp_path):
    session_dir = tmp_path / "s"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "mocap.cli", "record", str(session_dir), "--source", "synthetic"]
    command += ["--cameras", "2", "--size", "320x240", "--people", "1", "--seconds", "60", "--take", "t"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    take_dir = session_dir / "takes" / "t"
    stamps = [take_dir / "cam_1.timestamps.csv", take_dir / "cam_2.timestamps.csv"]
    try:
        deadline = time.monotonic() + 60
        while min(_rows(p) for p in stamps) < 60:  # two seconds recorded
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "recording did not start"
            time.sleep(0.1)
        rows_one_second_before = [_rows(p) for p in stamps]
        time.sleep(1.0)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    take = Take.open(take_dir)
    assert take.info.status == "interrupted"
    for entry, before in zip(take.info.cameras, rows_one_second_before, strict=True):
        assert entry.frames >= before, f"{entry.name}: {entry.frames} frames readable, {before} recorded 1 s earlier"
        table = take.timestamps(entry.name)
        assert len(table) == entry.frames and np.all(np.diff(table.timestamp_s) > 0)
        with take.open_video(entry.name) as frames:
            ticks = np.array([read_code(image) for _, image in frames.frames()])
        assert len(ticks) >= entry.frames
        ticks = ticks[: entry.frames]
        # consistent timestamps: frame k shows tick k's moment, one frame period per tick
        np.testing.assert_allclose(np.diff(table.timestamp_s), np.diff(ticks) / 30.0, atol=3e-3)
