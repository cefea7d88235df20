"""Degenerate input: empty frames, NaN-only detections, a flood of false detections, cameras looking away."""

import numpy as np

from mocap.association.associate import associate_take
from mocap.detections2d import Detections2D
from mocap.metrics import evaluate_people
from mocap.synthetic.studio import StudioConfig, generate_take

BASE = StudioConfig(num_cameras=5, num_people=2, num_frames=60, noise_px=2.0, seed=5)


def rebuild(take, xy, score) -> Detections2D:
    d = take.detections
    return Detections2D(xy, score, d.camera_names, d.layout, d.fps)


def test_empty_and_nan_only_frames_give_no_people_there():
    take = generate_take(BASE)
    xy, score = take.detections.xy.copy(), take.detections.score.copy()
    xy[20:35] = np.nan  # empty frames (NaN-only detections), longer than the gap filler's limit
    score[20:35] = 0.0
    result = associate_take(take.rig, rebuild(take, xy, score))
    assert np.isnan(result.poses.xyz[20:35]).all()
    assert result.poses.num_people == 2  # the same two ids continue after the gap
    scores = evaluate_people(result.poses, take.poses)
    assert scores.id_switches == 0 and scores.false_people == 0


def test_a_view_with_fifty_false_detections_invents_nobody():
    take = generate_take(BASE)
    rng = np.random.default_rng(0)
    t_count, v_count, s_count, j_count = take.detections.score.shape
    xy = np.full((t_count, v_count, s_count + 50, j_count, 2), np.nan, dtype=np.float32)
    score = np.zeros((t_count, v_count, s_count + 50, j_count), dtype=np.float32)
    xy[:, :, :s_count], score[:, :, :s_count] = take.detections.xy, take.detections.score
    width, height = take.rig[0].image_size
    real = take.detections.xy[:, 0, 0]  # plausible body shapes, moved around the image
    for k in range(50):
        shift = rng.uniform([-width / 2, -height / 4], [width / 2, height / 4], (t_count, 1, 2))
        xy[:, 0, s_count + k] = real[rng.permutation(t_count)] + shift
        score[:, 0, s_count + k] = np.where(np.isfinite(xy[:, 0, s_count + k, :, 0]), 0.9, 0.0)
    result = associate_take(take.rig, rebuild(take, xy, score))
    scores = evaluate_people(result.poses, take.poses)
    assert result.poses.num_people == 2 and scores.false_people == 0
    assert scores.id_switches == 0 and scores.matched_fraction > 0.98


def test_cameras_looking_away_and_a_single_view():
    take = generate_take(BASE)
    xy, score = take.detections.xy.copy(), take.detections.score.copy()
    xy[:, 2:] = np.nan  # three of five cameras see nothing at all
    score[:, 2:] = 0.0
    result = associate_take(take.rig, rebuild(take, xy, score))
    scores = evaluate_people(result.poses, take.poses)
    assert scores.false_people == 0 and scores.matched_fraction > 0.9
    xy[:, 1:] = np.nan  # one view only: nobody can be triangulated, nobody is invented
    score[:, 1:] = 0.0
    assert associate_take(take.rig, rebuild(take, xy, score)).poses.num_people == 0
