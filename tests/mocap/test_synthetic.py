import numpy as np
import pytest
from pydantic import ValidationError

from mocap.errors import MissingFileError
from mocap.skeleton import CANONICAL_JOINTS
from mocap.synthetic.body import MARKERS
from mocap.synthetic.motion import PlacementError, load_clip
from mocap.synthetic.studio import EMPTY_SLOT, GHOST_SLOT, StudioConfig, generate_take

CROWD = StudioConfig(
    num_cameras=6, num_people=4, num_frames=90, noise_px=3.0, missed_rate=0.1, false_positives_per_view=0.2, seed=7
)


@pytest.fixture(scope="module")
def crowd():
    return generate_take(CROWD)


def test_every_canonical_joint_has_a_marker():
    assert set(MARKERS) == set(CANONICAL_JOINTS)


def test_ground_truth_reprojects_with_zero_error():
    take = generate_take(StudioConfig(num_cameras=5, num_people=3, num_frames=40, lens="strong", resolution="mixed"))
    joints = [CANONICAL_JOINTS.index(n) for n in take.layout.joint_names]
    truth = take.all_points[:, :, joints]  # float64 ground truth at the nominal times
    for v, camera in enumerate(take.rig):
        expected = camera.project(truth)
        visible = take.visible[:, v]
        assert np.array_equal(take.true_xy[:, v][visible], expected[visible])
    # the noise-free detector reports the truth (up to float32 storage)
    clean = take.true_xy[take.visible & ~take.occluded]
    slot = take.slot_person
    reported = np.full(take.true_xy.shape, np.nan)
    for t, v, s in zip(*np.nonzero(slot >= 0), strict=True):
        reported[t, v, slot[t, v, s]] = take.detections.xy[t, v, s]
    difference = reported[take.visible & ~take.occluded] - clean
    assert np.nanmax(np.abs(difference)) < 5e-4


def test_measured_noise_matches_the_configured_sigma():
    sigma = 2.5
    take = generate_take(StudioConfig(num_cameras=8, num_people=2, num_frames=300, noise_px=sigma, seed=3))
    errors = []
    for t, v, s in zip(*np.nonzero(take.slot_person >= 0), strict=True):
        person = take.slot_person[t, v, s]
        clear = take.visible[t, v, person] & ~take.occluded[t, v, person]
        errors.append((take.detections.xy[t, v, s] - take.true_xy[t, v, person])[clear])
    measured = np.nanstd(np.concatenate(errors))
    assert abs(measured / sigma - 1.0) < 0.05


def test_same_seed_same_take_and_other_seed_other_take(crowd):
    again = generate_take(CROWD)
    np.testing.assert_array_equal(again.detections.xy, crowd.detections.xy)
    np.testing.assert_array_equal(again.poses.xyz, crowd.poses.xyz)
    assert again.rig == crowd.rig
    other = generate_take(CROWD.model_copy(update={"seed": 8}))
    assert not np.array_equal(other.poses.xyz, crowd.poses.xyz)


def test_crowd_has_misses_ghosts_and_separation(crowd):
    slot = crowd.slot_person
    ghosts = (slot == GHOST_SLOT).sum() / (CROWD.num_frames * CROWD.num_cameras)
    assert 0.1 < ghosts < 0.3  # Poisson mean 0.2 per view and frame, minus ghosts out of view
    assert set(np.unique(slot)) <= {GHOST_SLOT, EMPTY_SLOT, 0, 1, 2, 3}
    hips = crowd.all_points[:, :, CANONICAL_JOINTS.index("mid_hip"), :2]
    for a in range(4):
        for b in range(a):
            assert np.min(np.linalg.norm(hips[:, a] - hips[:, b], axis=-1)) >= CROWD.min_separation_m
    detected = crowd.detections.detected
    assert 0.0 < 1 - detected[slot >= 0].mean() < 0.5
    assert crowd.detections.camera_names == tuple(f"cam_{i}" for i in range(1, 7))
    heights = crowd.all_points[:, :, CANONICAL_JOINTS.index("head_top"), 2].max(axis=0)
    assert np.all((heights > 1.5) & (heights < 2.0))


def test_occlusion_hides_the_face_from_cameras_behind_the_head():
    take = generate_take(StudioConfig(num_cameras=8, num_frames=120, seed=1))
    canon = {n: i for i, n in enumerate(CANONICAL_JOINTS)}
    head = take.all_points[:, 0, canon["head"]]
    forward = take.all_points[:, 0, canon["nose"]] - head
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    nose = take.layout.index("nose")
    behind, front = [], []
    for v, camera in enumerate(take.rig):
        facing = np.sum(forward * (camera.center_world - head), axis=-1) / np.linalg.norm(
            camera.center_world - head, axis=-1
        )
        hidden = take.occluded[:, v, 0, nose]
        behind.append(hidden[facing < -0.5])  # more than 120 deg off the face's direction
        front.append(hidden[facing > 0.5])
    assert np.concatenate(behind).mean() > 0.9
    assert np.concatenate(front).mean() < 0.1


def test_time_offsets_shift_each_view_clock():
    offsets = (0.0, 3.0, -2.0, 5.0)
    take = generate_take(StudioConfig(num_frames=30, time_offsets_frames=offsets, occlusion=False))
    base = generate_take(StudioConfig(num_frames=40, occlusion=False))
    np.testing.assert_array_equal(take.time_offsets_frames, offsets)
    # view 2 (offset +3) at frame t sees what the unshifted take shows at frame t + 3
    np.testing.assert_allclose(take.true_xy[:20, 1], base.true_xy[3:23, 1], atol=1e-9)
    with pytest.raises(ValueError, match="has 2 values for 4 cameras"):
        generate_take(StudioConfig(time_offsets_frames=(1.0, 2.0)))


def test_procedural_motion_and_bad_motion_file(tmp_path):
    take = generate_take(StudioConfig(motion="procedural", num_people=2, num_frames=30))
    assert take.motion_source == "procedural gait"
    assert load_clip(None).duration_s > 5
    with pytest.raises(MissingFileError, match="no such BVH file"):
        generate_take(StudioConfig(motion=tmp_path / "none.bvh"))


def test_config_is_validated():
    with pytest.raises(ValidationError, match="num_cameras"):
        StudioConfig(num_cameras=0)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        StudioConfig(num_camera=3)
    with pytest.raises(PlacementError, match=r"could not place 12 people at least 3\.0 m apart"):
        generate_take(StudioConfig(num_people=12, min_separation_m=3.0, num_frames=2))


@pytest.mark.realdata
def test_real_motion_is_used_when_present(shared_data):
    take = generate_take(StudioConfig(num_frames=5))
    assert take.motion_source.endswith("AV_8Walk_Meredith_HVHA_Rep1.bvh")


def test_left_right_swaps_exchange_the_sides_of_a_detection():
    config = StudioConfig(num_frames=40, occlusion=False, left_right_swap_rate=0.3, shuffle_slots=False)
    take = generate_take(config)
    flip = list(take.layout.flip_permutation)
    rate = take.swapped.mean()
    assert 0.2 < rate < 0.4
    t, v, p = np.argwhere(take.swapped)[0]
    np.testing.assert_allclose(take.detections.xy[t, v, 0], take.true_xy[t, v, p][flip], atol=1e-3)
    t, v, p = np.argwhere(~take.swapped)[0]
    np.testing.assert_allclose(take.detections.xy[t, v, 0], take.true_xy[t, v, p], atol=1e-3)
