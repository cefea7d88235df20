"""The rendered synthetic studio and the crash-surviving video writers."""

import numpy as np
import pytest

from calibration.media import open_frames
from mocap.capture.video import VideoWriteError, VideoWriter
from mocap.errors import ShapeError
from mocap.session.media import count_decodable_frames, probe_video
from mocap.skeleton.layouts import CANONICAL_JOINTS
from mocap.synthetic.render import SceneRenderer, draw_code, read_code
from mocap.synthetic.studio import StudioConfig, generate_take


@pytest.fixture(scope="module")
def renderer():
    take = generate_take(StudioConfig(num_cameras=2, num_people=2, num_frames=1, resolution=(320, 240)))
    return SceneRenderer.from_take_parts(take.rig, take.motion_source, take.placements)


def test_people_are_drawn_where_the_cameras_see_them(renderer):
    for view in range(2):
        camera = renderer.rig.cameras[view]
        image = renderer.render(view, 1.0)
        assert image.shape == (240, 320, 3) and image.dtype == np.uint8
        changed = np.any(image != renderer.background(view), axis=-1)
        hips = camera.project(renderer.points_at(1.0)[:, CANONICAL_JOINTS.index("mid_hip")])
        for x, y in hips:
            if camera.in_image(np.array([x, y])):
                window = changed[max(0, int(y) - 3) : int(y) + 4, max(0, int(x) - 3) : int(x) + 4]
                assert window.any(), "a person's hip is not drawn"
        assert 0.005 < changed.mean() < 0.5
    assert np.array_equal(renderer.render(0, 2.5), renderer.render(0, 2.5))
    assert not np.array_equal(renderer.render(0, 2.5), renderer.render(0, 2.6))


def test_the_floor_is_textured_and_the_walls_are_not_black(renderer):
    background = renderer.background(0)
    assert background.std() > 10 and background.min(axis=-1).mean() > 60


@pytest.mark.parametrize("code", [0, 1, 12345, 2**24 - 1])
def test_frame_code_round_trips(code):
    image = np.full((48, 256, 3), 128, np.uint8)
    draw_code(image, code)
    assert read_code(image) == code
    with pytest.raises(ValueError, match="outside"):
        draw_code(image, 2**24)


@pytest.mark.parametrize(
    ("container", "codec"), [("mkv", "h264"), ("mkv", "mjpeg"), ("mp4", "h264"), ("mkv", "ffv1"), ("avi", "mjpeg")]
)
def test_writers_round_trip_frames_and_codes(tmp_path, renderer, container, codec):
    path = tmp_path / f"v.{container}"
    with VideoWriter(path, (320, 240), 30.0, container=container, codec=codec) as video:
        for i in range(12):
            video.write(renderer.render(0, i / 30, code=1000 + i))
    probe = probe_video(path)
    assert probe.frames == 12 and probe.size == (320, 240) and probe.fps == pytest.approx(30.0)
    with open_frames(path) as frames:
        codes = [read_code(image) for _, image in frames.frames()]
    assert codes == list(range(1000, 1012))


def test_writer_refuses_to_overwrite_odd_sizes_and_wrong_frames(tmp_path):
    path = tmp_path / "v.mkv"
    path.write_bytes(b"recorded before")
    with pytest.raises(VideoWriteError, match="exists already"):
        VideoWriter(path, (64, 48), 30.0)
    assert path.read_bytes() == b"recorded before"
    with pytest.raises(ShapeError, match="even"):
        VideoWriter(tmp_path / "odd.mkv", (63, 48), 30.0)
    with VideoWriter(tmp_path / "w.mkv", (64, 48), 30.0) as video, pytest.raises(ShapeError, match="frame"):
        video.write(np.zeros((48, 63, 3), np.uint8))


def test_an_unfinished_mkv_is_readable_up_to_its_last_flush(tmp_path, renderer):
    """What the recorder relies on: the muxer hands frames to the OS every flush interval."""
    path = tmp_path / "open.mkv"
    video = VideoWriter(path, (320, 240), 30.0, flush_interval_s=0.1)
    for i in range(30):
        video.write(renderer.render(0, i / 30, code=i))
    # not closed: read what is on disk now (as after a crash)
    readable = count_decodable_frames(path)
    assert readable >= 30 - 4  # at most 0.1 s + one cluster in flight
    video.close()
    assert count_decodable_frames(path) == 30
