"""Association and tracking on synthetic crowds with real motion (known answers)."""

import numpy as np
import pytest

from mocap.association.associate import associate_take
from mocap.metrics import evaluate_people
from mocap.poses3d import Poses3D
from mocap.synthetic.studio import GHOST_SLOT, StudioConfig, generate_take
from mocap.triangulation.dlt import triangulate_dlt

CROWD = StudioConfig(num_cameras=6, num_people=4, num_frames=150, noise_px=3.0, missed_rate=0.1,
                     false_positives_per_view=0.05, left_right_swap_rate=0.05, seed=11)  # fmt: skip


def oracle(take) -> Poses3D:
    """Triangulation given the true association (the same plain DLT)."""
    det = take.detections
    t_count, v_count, _, j_count = det.score.shape
    p_count = take.poses.num_people
    pixels = np.full((t_count, p_count, j_count, v_count, 2), np.nan)
    weights = np.zeros((t_count, p_count, j_count, v_count))
    for t, v, s in zip(*np.nonzero(take.slot_person >= 0), strict=True):
        p = take.slot_person[t, v, s]
        pixels[t, p, :, v] = det.xy[t, v, s]
        weights[t, p, :, v] = det.score[t, v, s]
    r = triangulate_dlt(take.rig, pixels, weights)
    return Poses3D(r.points_world, np.arange(p_count), r.reprojection_error_px, r.n_views, det.layout, det.fps)


@pytest.fixture(scope="module")
def crowd():
    take = generate_take(CROWD)
    return take, associate_take(take.rig, take.detections)


def test_every_claim_goes_to_the_right_person_and_no_ghost_is_claimed(crowd):
    take, result = crowd
    claimed = result.slot_person >= 0
    truth = take.slot_person[claimed]
    assert not np.any(truth == GHOST_SLOT)
    owner = {}
    for p in range(result.poses.num_people):
        owners = take.slot_person[result.slot_person == p]
        owner[p] = np.bincount(owners[owners >= 0]).argmax()
    mapped = np.vectorize(owner.get)(result.slot_person[claimed])
    assert np.mean(mapped == truth) > 0.999
    real = take.slot_person >= 0
    assert np.mean(claimed[real]) > 0.99


def test_stable_ids_all_people_and_oracle_accuracy(crowd):
    take, result = crowd
    scores = evaluate_people(result.poses, take.poses)
    reference = evaluate_people(oracle(take), take.poses)
    assert result.poses.num_people == CROWD.num_people
    assert scores.id_switches == 0 and scores.false_people == 0
    assert scores.matched_fraction > 0.99
    assert scores.mpjpe_m <= 1.3 * reference.mpjpe_m


def test_left_right_swaps_are_corrected_against_the_3d_pose():
    take = generate_take(CROWD.model_copy(update={"left_right_swap_rate": 0.2, "num_frames": 90}))
    result = associate_take(take.rig, take.detections)
    both = (result.slot_person >= 0) & (take.slot_person >= 0)
    t, v, s = np.nonzero(both)
    swapped = take.swapped[t, v, take.slot_person[t, v, s]]
    flipped = result.flipped[t, v, s]
    assert np.mean(flipped[swapped]) > 0.97
    assert np.mean(flipped[~swapped]) < 0.05
    plain = evaluate_people(oracle(take), take.poses).mpjpe_m
    assert evaluate_people(result.poses, take.poses).mpjpe_m < 0.6 * plain  # the swap-blind oracle


def test_per_frame_association_without_tracking_finds_the_people():
    take = generate_take(CROWD.model_copy(update={"num_frames": 30, "left_right_swap_rate": 0.0}))
    result = associate_take(take.rig, take.detections, tracking=False)
    scores = evaluate_people(result.poses, take.poses)
    assert scores.matched_fraction > 0.98 and scores.false_people <= 2
