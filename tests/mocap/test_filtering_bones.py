"""Bone lengths: robust estimation and soft enforcement on the synthetic studio and by hand."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.filtering import bone_lengths, enforce_bone_lengths, estimate_bone_lengths
from mocap.metrics import mpjpe
from mocap.skeleton import COCO17
from mocap.synthetic.studio import StudioConfig, generate_take


@pytest.fixture(scope="module")
def walk():
    take = generate_take(StudioConfig(num_frames=200, occlusion=False))
    truth = take.poses.xyz[:, 0].astype(np.float64)  # (T, J, 3)
    rigid = bone_lengths(truth, COCO17).std(axis=0) < 0.003  # limbs; not the torso / face edges
    return truth, rigid


def test_estimation_is_robust_to_noise_and_wrong_joints(walk, rng):
    truth, rigid = walk
    noisy = truth + rng.normal(0.0, 0.01, truth.shape)
    wrong = rng.uniform(size=truth.shape[:2]) < 0.05
    noisy[wrong] += rng.normal(0.0, 0.3, (wrong.sum(), 3))  # 5 % gross errors
    noisy[rng.uniform(size=truth.shape[:2]) < 0.1] = np.nan
    estimate = estimate_bone_lengths(noisy, COCO17)
    reference = np.median(bone_lengths(truth, COCO17), axis=0)
    assert np.max(np.abs(estimate - reference)[rigid]) < 0.01
    weights = np.where(wrong, 0.0, 1.0)  # untrusted joints can be left out
    trusted = estimate_bone_lengths(noisy, COCO17, weights, min_weight=0.5)
    assert np.max(np.abs(trusted - reference)[rigid]) <= np.max(np.abs(estimate - reference)[rigid]) + 1e-3


def test_soft_enforcement_steadies_bones_and_lowers_the_error(walk, rng):
    truth, rigid = walk
    noisy = truth + rng.normal(0.0, 0.015, truth.shape)
    noisy[5, 3] = np.nan
    lengths = np.where(rigid, estimate_bone_lengths(noisy, COCO17), np.nan)  # leave non-rigid edges free
    fixed = enforce_bone_lengths(noisy, COCO17, lengths, stiffness=0.5, rounds=10)
    before, after = bone_lengths(noisy, COCO17), bone_lengths(fixed, COCO17)
    assert np.nanmean(np.nanstd(after[:, rigid], axis=0)) < 0.5 * np.nanmean(np.nanstd(before[:, rigid], axis=0))
    assert mpjpe(fixed, truth) < mpjpe(noisy, truth)
    assert np.isnan(fixed[5, 3]).all() and np.isfinite(fixed[5, 4]).all()
    soft = enforce_bone_lengths(noisy, COCO17, lengths, stiffness=0.1, rounds=1)
    assert np.nanstd(bone_lengths(soft, COCO17)[:, rigid]) > np.nanstd(after[:, rigid])  # softer keeps more
    np.testing.assert_array_equal(enforce_bone_lengths(noisy, COCO17, lengths, stiffness=0.0), noisy)


def test_trusted_joints_move_less():
    xyz = np.zeros((1, COCO17.num_joints, 3))
    hip, knee = COCO17.index("left_hip"), COCO17.index("left_knee")
    xyz[0, knee] = [0.0, 0.0, -0.5]
    lengths = np.full(len(COCO17.bones), np.nan)
    lengths[COCO17.bones.index((hip, knee))] = 0.4
    weights = np.ones((1, COCO17.num_joints))
    weights[0, hip] = 9.0  # the hip is trusted 9x more
    out = enforce_bone_lengths(xyz, COCO17, lengths, stiffness=1.0, rounds=1, weights=weights)
    moved_hip, moved_knee = np.linalg.norm(out[0, hip]), np.linalg.norm(out[0, knee] - xyz[0, knee])
    assert moved_knee == pytest.approx(9 * moved_hip) and moved_hip + moved_knee == pytest.approx(0.1)


def test_bad_input():
    with pytest.raises(ShapeError):
        estimate_bone_lengths(np.zeros((5, 3, 3)), COCO17)
    with pytest.raises(ValueError, match="stiffness"):
        enforce_bone_lengths(np.zeros((5, 17, 3)), COCO17, np.ones(16), stiffness=2.0)
    with pytest.raises(ShapeError, match="lengths"):
        enforce_bone_lengths(np.zeros((5, 17, 3)), COCO17, np.ones(3))
    assert np.isnan(estimate_bone_lengths(np.full((4, 17, 3), np.nan), COCO17)).all()
