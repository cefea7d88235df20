"""filter_poses: gap filling + smoothing + bone lengths on reconstructed studio poses."""

import numpy as np
import pytest

from mocap.filtering import FilterConfig, filter_poses
from mocap.metrics import mpjpe
from mocap.poses3d import Poses3D
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation.single_person import triangulate_single_person


@pytest.fixture(scope="module")
def reconstructed():
    take = generate_take(StudioConfig(num_frames=240, noise_px=3.0, missed_rate=0.25, seed=2))
    return take, triangulate_single_person(take.rig, take.detections)


def test_filtering_fills_short_gaps_and_lowers_the_error(reconstructed, capsys):
    take, raw = reconstructed
    smooth = filter_poses(raw, FilterConfig(cutoff_hz=6.0, max_gap_frames=10))
    bones = filter_poses(raw, FilterConfig(cutoff_hz=6.0, max_gap_frames=10, bone_stiffness=0.3))
    errors = [mpjpe(p.xyz, take.poses.xyz) for p in (raw, smooth, bones)]
    with capsys.disabled():
        print(
            f"\n[filtering] raw {errors[0] * 1e3:.2f} mm ({raw.valid.mean():.1%}), gaps+Butterworth 6 Hz "
            f"{errors[1] * 1e3:.2f} mm ({smooth.valid.mean():.1%}), + bones {errors[2] * 1e3:.2f} mm"
        )
    assert errors[1] < 0.9 * errors[0] and smooth.valid.mean() > raw.valid.mean()
    filled = smooth.valid & ~raw.valid
    assert filled.any() and (smooth.n_views[filled] == 0).all() and np.isnan(smooth.reprojection_error[filled]).all()
    kept = raw.valid
    np.testing.assert_array_equal(smooth.n_views[kept], raw.n_views[kept])
    assert errors[2] < errors[0]


def test_long_gaps_stay_missing_and_padded_people_are_skipped(reconstructed):
    _, raw = reconstructed
    xyz = np.concatenate([raw.xyz, np.full_like(raw.xyz, np.nan)], axis=1)  # a padded second slot
    xyz[100:120, 0, 5] = np.nan  # 20 missing frames
    poses = Poses3D(
        xyz,
        [0, -1],
        np.concatenate([raw.reprojection_error] * 2, axis=1),
        np.concatenate([raw.n_views] * 2, axis=1),
        raw.layout,
        raw.fps,
    )
    out = filter_poses(poses, FilterConfig(max_gap_frames=10))
    assert np.isnan(out.xyz[100:120, 0, 5]).all() and np.isnan(out.xyz[:, 1]).all()
    unfiltered = filter_poses(poses, FilterConfig(max_gap_frames=0, cutoff_hz=None))
    np.testing.assert_array_equal(unfiltered.xyz, poses.xyz)


def test_a_cutoff_the_frame_rate_cannot_carry_is_refused(reconstructed):
    _, raw = reconstructed
    with pytest.raises(ValueError, match="below half the frame rate"):
        filter_poses(raw, FilterConfig(cutoff_hz=20.0))
    with pytest.raises(ValueError, match="extra"):
        FilterConfig(cutof_hz=3.0)  # type: ignore[call-arg]
