"""Importing videos into a take: good input, and every bad input leaves nothing behind."""

import numpy as np
import pytest

from mocap.capture.video import VideoWriter
from mocap.errors import FileFormatError, MismatchError, MissingFileError
from mocap.session.importing import import_videos
from mocap.session.store import Session


def make_video(path, frames, fps=30.0):
    with VideoWriter(path, (64, 48), fps) as video:
        for i in range(frames):
            video.write(np.full((48, 64, 3), (7 * i) % 250, np.uint8))
    return path


@pytest.fixture
def session(tmp_path):
    return Session.create(tmp_path / "session")


def test_videos_become_a_take(session, tmp_path):
    videos = [make_video(tmp_path / f"cam0{i}.mkv", 12) for i in (1, 2)]
    take = import_videos(session, videos, name="import_1")
    assert take.info.status == "imported" and take.camera_names == ("cam01", "cam02")
    assert take.info.fps == 30.0 and take.info.frame_sets == 12
    assert all((take.root / c.video).is_file() for c in take.info.cameras)
    assert take.check_frame_counts() == 12
    table = take.timestamps("cam02")
    assert len(table) == 12 and table.timestamp_s[-1] == pytest.approx(11 / 30)
    with take.open_video("cam01") as frames:
        assert sum(1 for _ in frames.frames()) == 12


def test_frame_counts_that_disagree(session, tmp_path):
    videos = [make_video(tmp_path / "a.mkv", 12), make_video(tmp_path / "b.mkv", 10)]
    with pytest.raises(MismatchError, match=r"frame counts disagree \(a.mkv: 12, b.mkv: 10\)"):
        import_videos(session, videos)
    assert session.take_names() == [] and not any(session.takes_dir.iterdir())


def test_a_missing_camera_file(session, tmp_path):
    with pytest.raises(MissingFileError, match=r"b\.mkv: no such video file"):
        import_videos(session, [make_video(tmp_path / "a.mkv", 5), tmp_path / "b.mkv"])
    assert not any(session.takes_dir.iterdir())


def test_a_corrupt_video(session, tmp_path):
    bad = tmp_path / "b.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(FileFormatError, match=r"b\.mp4") as info:
        import_videos(session, [make_video(tmp_path / "a.mkv", 5), bad])
    assert "\n" not in str(info.value)
    assert not any(session.takes_dir.iterdir())


def test_a_video_cut_short_still_counts_its_frames(session, tmp_path):
    path = make_video(tmp_path / "a.mkv", 60)
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    from mocap.session.media import count_decodable_frames

    assert 20 < count_decodable_frames(cut) < 60
