"""LiveReconstructor: one frame set at a time, known answers on the synthetic studio, bounded state."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.filtering.one_euro import OneEuroConfig
from mocap.live.reconstruct import LiveReconstructor
from mocap.skeleton import CANONICAL_JOINTS
from mocap.synthetic.studio import StudioConfig, SyntheticWorld
from mocap.triangulation.dlt import triangulate_dlt

CONFIG = StudioConfig(num_cameras=4, num_people=2, noise_px=1.0, resolution=(640, 480), seed=3)


def _run(smoothing: OneEuroConfig | None, frames: int = 40, step: int = 1):
    world, rng = SyntheticWorld.create(CONFIG)
    live = LiveReconstructor(world.rig, world.layout, smoothing=smoothing)
    observed = world.observe(np.arange(0, frames * step, step), rng)
    out = [live.step(k * step, k * step / CONFIG.fps, observed.xy[k], observed.score[k]) for k in range(frames)]
    return world, live, out


def _errors_m(world, people, frame: int) -> np.ndarray:
    joints = [CANONICAL_JOINTS.index(n) for n in world.layout.joint_names]
    truth = world.people_points(np.array([float(frame)]))[0][:, joints]  # (P, J, 3)
    # match each published person to the nearest true person
    return np.array([np.nanmin([np.nanmean(np.linalg.norm(p - t, axis=-1)) for t in truth]) for p in people.raw_poses])


def test_people_are_tracked_and_triangulated_to_the_truth():
    world, _, out = _run(smoothing=None)
    last = out[-1]
    assert sorted(last.person_ids.tolist()) == [0, 1]
    assert last.poses.shape == (2, world.layout.num_joints, 3)
    assert np.all(_errors_m(world, last, 39) < 0.02)
    assert np.nanmedian(last.reprojection_error_px) < 3.0
    assert set(np.unique(last.slot_person)) <= {-1, 0, 1}
    assert np.array_equal(last.poses, last.raw_poses)  # no smoothing asked
    ids_over_time = {tuple(sorted(f.person_ids.tolist())) for f in out[10:]}
    assert ids_over_time == {(0, 1)}  # stable identities


def test_smoothing_reduces_jitter_and_stays_close():
    world, _, raw = _run(smoothing=None)
    _, _, smooth = _run(smoothing=OneEuroConfig(min_cutoff_hz=1.0, beta=0.5))

    def jitter(frames):  # mean second difference of person 0's joints
        series = np.stack([f.poses[list(f.person_ids).index(0)] for f in frames[10:]])
        return float(np.nanmean(np.linalg.norm(np.diff(series, 2, axis=0), axis=-1)))

    assert jitter(smooth) < 0.7 * jitter(raw)
    assert np.all(_errors_m(world, smooth[-1], 39) < 0.1)  # lag bound of the one-euro filter


def test_skipped_frame_sets_keep_the_tracks():
    world, _, out = _run(smoothing=OneEuroConfig(), frames=30, step=3)  # every third frame: latest wins
    assert sorted(out[-1].person_ids.tolist()) == [0, 1]
    assert np.all(_errors_m(world, out[-1], 87) < 0.1)


def test_state_stays_bounded_over_a_long_run():
    _, live, _ = _run(smoothing=OneEuroConfig(), frames=150)
    tracker = live._tracker
    assert all(len(track.claims) <= 1 for track in tracker.tracks)
    assert tracker.finished == []
    assert live.num_filters <= 2


def test_bad_input_is_refused():
    world, _ = SyntheticWorld.create(CONFIG)
    live = LiveReconstructor(world.rig, world.layout)
    j = world.layout.num_joints
    with pytest.raises(ShapeError, match="xy"):
        live.step(0, 0.0, np.zeros((3, 1, j, 2)), np.zeros((3, 1, j)))
    with pytest.raises(ShapeError, match="score"):
        live.step(0, 0.0, np.zeros((4, 1, j, 2)), np.zeros((4, 2, j)))
    live.step(5, 0.1, np.full((4, 1, j, 2), np.nan), np.zeros((4, 1, j)))
    with pytest.raises(ValueError, match="must increase"):
        live.step(5, 0.2, np.full((4, 1, j, 2), np.nan), np.zeros((4, 1, j)))


def test_triangulation_equals_the_weighted_dlt():
    world, rng = SyntheticWorld.create(CONFIG)
    live = LiveReconstructor(world.rig, world.layout, min_score=0.2)
    observed = world.observe(np.arange(3), rng)
    pixels = np.moveaxis(observed.xy[:, :, 0].astype(np.float64), 1, -2)  # (T, J, V, 2) slot 0
    weights = np.moveaxis(observed.score[:, :, 0].astype(np.float64), 1, -1)
    weights[0, :3, 1] = 0.1  # below min_score
    normalized = np.moveaxis(world.rig.undistort_points(np.moveaxis(pixels, -2, 0), normalized=True), 0, -2)
    ours = live._triangulate(pixels, normalized, weights)
    reference = triangulate_dlt(world.rig, pixels, weights, min_views=2, min_weight=0.2)
    np.testing.assert_allclose(ours.points_world, reference.points_world, atol=1e-9)
    np.testing.assert_allclose(ours.reprojection_error_px, reference.reprojection_error_px, atol=1e-6)
    assert np.array_equal(ours.status, reference.status) and np.array_equal(ours.n_views, reference.n_views)
