"""Offsets between unsynchronised videos: keypoint motion and audio, known answers from the studio."""

import av
import numpy as np
import pytest

from mocap.capture.offsets import apply_offsets, offsets_from_audio, offsets_from_keypoints
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, MocapError
from mocap.synthetic.render import SceneRenderer
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation.single_person import triangulate_single_person


@pytest.mark.parametrize(("seed", "cameras"), [(0, 6), (1, 6), (2, 4), (3, 4)])
def test_keypoint_offsets_up_to_ten_frames_are_recovered_exactly(seed, cameras):
    offsets = (0, *np.random.default_rng(seed).integers(-10, 11, cameras - 1).tolist())
    config = StudioConfig(
        seed=seed, num_cameras=cameras, num_frames=300, noise_px=2.0, missed_rate=0.05, time_offsets_frames=offsets
    )
    estimate = offsets_from_keypoints(generate_take(config).detections)  # searches +-15 frames (0.5 s)
    assert estimate.whole_frames.tolist() == list(offsets)
    assert np.max(np.abs(estimate.offsets_frames - offsets)) < 0.35
    assert estimate.reference == "cam_1" and estimate.confidence[0] == 1.0
    assert np.all(estimate.confidence[1:] > 0.15) and np.all(estimate.correlation[1:] > 0.3)


def test_another_reference_gives_offsets_relative_to_it():
    offsets = (0, 4, -6, 9)
    take = generate_take(StudioConfig(seed=4, num_frames=300, noise_px=1.0, time_offsets_frames=offsets))
    estimate = offsets_from_keypoints(take.detections, reference="cam_3", max_offset_frames=20)
    assert estimate.whole_frames.tolist() == [6, 10, 0, 15]


def test_no_shared_motion_means_no_confidence():
    take = generate_take(StudioConfig(seed=5, num_frames=200))
    d = take.detections
    noise = np.random.default_rng(0).normal(500.0, 3.0, d.xy.shape)
    estimate = offsets_from_keypoints(
        Detections2D(noise, d.score, d.camera_names, d.layout, d.fps), max_offset_frames=15
    )
    assert np.all(estimate.confidence[1:] < 0.1) and np.all(np.abs(estimate.correlation[1:]) < 0.1)


def test_bad_requests():
    take = generate_take(StudioConfig(seed=5, num_frames=60))
    with pytest.raises(MocapError, match="too few"):
        offsets_from_keypoints(take.detections, max_offset_frames=30)
    with pytest.raises(MismatchError, match="no view named"):
        offsets_from_keypoints(take.detections, max_offset_frames=5, reference="cam_9")
    with pytest.raises(MismatchError, match="3 offsets for 4 views"):
        apply_offsets(take.detections, [0, 1, 2])


def test_applying_the_offsets_resynchronises_triangulation():
    offsets = (0, 5, -8, 3)
    take = generate_take(StudioConfig(seed=6, num_frames=150, noise_px=1.0, time_offsets_frames=offsets))
    unsynced = triangulate_single_person(take.rig, take.detections)
    estimate = offsets_from_keypoints(take.detections, max_offset_frames=15, min_overlap_frames=30)
    synced = triangulate_single_person(take.rig, apply_offsets(take.detections, estimate.whole_frames))
    inner = slice(10, 140)  # frames every view has after shifting
    assert np.nanmedian(synced.reprojection_error[inner]) < 2.0 < np.nanmedian(unsynced.reprojection_error[inner])
    error = np.linalg.norm(synced.xyz[inner] - take.poses.xyz[inner], axis=-1)
    assert np.nanmedian(error) < 0.01


def _write_video_with_sound(path, renderer, view, offset_frames, sound, rate, fps, seconds, gain, rng):
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=int(fps))
    video.width, video.height = renderer.rig.cameras[view].image_size
    video.pix_fmt = "yuv420p"
    audio = container.add_stream("pcm_s16le", rate=rate, layout="mono")
    for t in range(int(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(renderer.render(view, (t + offset_frames) / fps), format="bgr24")
        frame.pts = t
        for packet in video.encode(frame):
            container.mux(packet)
    start = round(offset_frames / fps * rate) + rate  # this camera's sound: the room's, shifted
    samples = sound[start : start + int(seconds * rate)] * gain + rng.normal(0, 0.01, int(seconds * rate))
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    for k in range(0, len(pcm), 1024):
        chunk = av.AudioFrame.from_ndarray(pcm[None, k : k + 1024], format="s16", layout="mono")
        chunk.sample_rate = rate
        chunk.pts = k
        for packet in audio.encode(chunk):
            container.mux(packet)
    for stream in (video, audio):
        for packet in stream.encode():
            container.mux(packet)
    container.close()


def test_rendered_videos_with_sound_give_their_offsets_from_audio(tmp_path):
    take = generate_take(StudioConfig(seed=7, num_cameras=3, num_frames=1, resolution=(160, 120)))
    renderer = SceneRenderer.from_take_parts(take.rig, take.motion_source, take.placements)
    rng = np.random.default_rng(7)
    rate, fps, seconds = 16000, 30.0, 3.0
    sound = np.zeros(int((seconds + 3) * rate))
    for start in rng.uniform(0, seconds + 2, 20):  # claps and footsteps: short noise bursts
        i, length = int(start * rate), int(rng.uniform(0.01, 0.06) * rate)
        sound[i : i + length] += rng.normal(0, 0.3, len(sound[i : i + length]))
    offsets = [0, 9, -10]
    paths = []
    for view, (offset, gain) in enumerate(zip(offsets, (1.0, 0.4, 2.0), strict=True)):
        paths.append(tmp_path / f"cam_{view + 1}.mkv")
        _write_video_with_sound(paths[-1], renderer, view, offset, sound, rate, fps, seconds, gain, rng)
    estimate = offsets_from_audio(paths, fps, max_offset_frames=15)
    assert estimate is not None and estimate.method == "audio"
    assert estimate.whole_frames.tolist() == offsets
    assert np.max(np.abs(estimate.offsets_frames - offsets)) < 0.05
    assert np.all(estimate.confidence[1:] > 0.5)


def test_videos_without_sound_give_no_audio_estimate(tmp_path):
    from mocap.capture.video import VideoWriter

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"v{i}.mkv")
        with VideoWriter(paths[-1], (64, 48), 30.0) as video:
            for _ in range(5):
                video.write(np.zeros((48, 64, 3), np.uint8))
    assert offsets_from_audio(paths, 30.0) is None
