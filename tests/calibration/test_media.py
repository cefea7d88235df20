import cv2
import numpy as np
import pytest

from calibration.errors import FileFormatError, MissingFileError
from calibration.media import media_in_folder, natural_key, open_frames


def write_video(path, frames=12, size=(64, 48), fps=25.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), i * 20, dtype=np.uint8)
        writer.write(image)
    writer.release()
    return path


def test_video_frames_info_and_steps(tmp_path):
    path = write_video(tmp_path / "cam_1.avi")
    with open_frames(path) as source:
        assert source.is_video and source.info.size == (64, 48) and source.info.fps == pytest.approx(25.0)
        assert source.info.num_frames == 12
        indices = [i for i, _ in source.frames(step=5)]
        assert indices == [0, 5, 10]
        frame = source.read(3)
        assert frame is not None and abs(int(frame.mean()) - 60) <= 3
        assert source.read(99) is None


def test_image_folders_sort_numbers_naturally(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((8, 6), i, dtype=np.uint8))
    with open_frames(tmp_path) as source:
        assert source.info.num_frames == 3 and source.info.fps is None and source.info.size == (6, 8)
        values = [int(frame[0, 0, 0]) for _, frame in source.frames()]
    assert values == [1, 2, 10]
    assert sorted([tmp_path / "cam_10.mp4", tmp_path / "cam_2.mp4"], key=natural_key)[0].name == "cam_2.mp4"


def test_bad_media_gives_one_line_errors(tmp_path):
    with pytest.raises(MissingFileError, match="no such video file or image folder"):
        open_frames(tmp_path / "none.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(FileFormatError, match=r"broken\.mp4: cannot be decoded as video"):
        open_frames(tmp_path / "broken.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MissingFileError, match="folder holds no images"):
        open_frames(empty)
    with pytest.raises(MissingFileError, match="holds no videos"):
        media_in_folder(empty)


def test_media_in_folder_lists_videos_and_image_folders(tmp_path):
    write_video(tmp_path / "cam_10.avi", frames=2)
    write_video(tmp_path / "cam_2.avi", frames=2)
    (tmp_path / "cam_3").mkdir()
    cv2.imwrite(str(tmp_path / "cam_3" / "0.png"), np.zeros((4, 4), dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in media_in_folder(tmp_path)] == ["cam_2.avi", "cam_3", "cam_10.avi"]
