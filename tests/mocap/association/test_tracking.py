"""Association and tracking on synthetic crowds with real motion (known answers)."""

import numpy as np
import pytest

from mocap.association.associate import associate_people, associate_take
from mocap.metrics import evaluate_people
from mocap.synthetic.oracle import oracle_reconstruction, true_observations
from mocap.synthetic.studio import GHOST_SLOT, StudioConfig, generate_take
from mocap.triangulation.pipeline import ReconstructConfig

CROWD = StudioConfig(num_cameras=6, num_people=4, num_frames=150, noise_px=3.0, missed_rate=0.1,
                     false_positives_per_view=0.05, left_right_swap_rate=0.05, seed=11)  # fmt: skip


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
    reference = evaluate_people(oracle_reconstruction(take).poses, take.poses)
    assert result.poses.num_people == CROWD.num_people
    assert scores.id_switches == 0 and scores.false_people == 0
    assert scores.matched_fraction > 0.99 and scores.pcp >= 0.99
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
    # the swap-blind oracle, both triangulated without outlier rejection, so swaps stay visible
    plain = ReconstructConfig.model_validate({"triangulation": {"method": "dlt"}, "filtering": None})
    blind = evaluate_people(oracle_reconstruction(take, plain).poses, take.poses).mpjpe_m
    ours = associate_take(take.rig, take.detections, reconstruction=plain)
    assert evaluate_people(ours.poses, take.poses).mpjpe_m < 0.6 * blind


def test_association_returns_the_true_observations_for_a_clean_take():
    take = generate_take(CROWD.model_copy(update={"num_frames": 40, "left_right_swap_rate": 0.0}))
    association = associate_people(take.rig, take.detections)
    truth = true_observations(take)
    assert association.observations.num_people == truth.num_people
    for p in range(truth.num_people):  # our person p is some true person q: same keypoints
        ours = association.observations.xy[:, :, p]
        q = np.argmin([np.nanmean(np.abs(ours - truth.xy[:, :, k])) for k in range(truth.num_people)])
        theirs = truth.xy[:, :, q]
        claimed, right = np.isfinite(ours), ours == theirs  # NaN == NaN is False
        assert np.sum(claimed & ~right) < 0.005 * claimed.sum()  # a rare false detection taken instead
        assert right.sum() > 0.99 * np.isfinite(theirs).sum()  # nearly all of the person claimed


def test_per_frame_association_without_tracking_finds_the_people():
    take = generate_take(CROWD.model_copy(update={"num_frames": 30, "left_right_swap_rate": 0.0}))
    result = associate_take(take.rig, take.detections, tracking=False)
    scores = evaluate_people(result.poses, take.poses)
    assert scores.matched_fraction > 0.98 and scores.false_people <= 2


def test_without_history_the_tracker_keeps_only_the_current_frame():
    from mocap.association.geometry import normalized_detections, rays_world, view_geometry
    from mocap.association.tracker import Tracker, TrackerConfig

    take = generate_take(CROWD.model_copy(update={"num_frames": 30}))
    geometry = view_geometry(take.rig)
    normalized = normalized_detections(take.rig, take.detections)
    rays = rays_world(geometry, normalized)
    layout = take.detections.layout
    trackers = [
        Tracker(geometry, np.array(layout.flip_permutation), TrackerConfig(), layout.joint_names, keep_history=keep)
        for keep in (True, False)
    ]
    for t in range(take.detections.num_frames):
        for tracker in trackers:
            tracker.step(t, normalized[t], rays[t], take.detections.score[t].astype(np.float64))
    full, live = trackers
    assert [tr.track_id for tr in live.tracks] == [tr.track_id for tr in full.tracks]
    assert all(len(tr.claims) <= 1 for tr in live.tracks) and not live.finished
    assert max(len(tr.claims) for tr in full.tracks) > 20
    for a, b in zip(full.tracks, live.tracks, strict=True):  # same decisions, only less memory
        np.testing.assert_array_equal(a.pose, b.pose)
