"""Pose priors: joint-angle limits and the GMM prior file (npz and SMPLify-style pkl)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from mocap.body.fitting import FitConfig, fit_smpl
from mocap.body.priors import gmm_best_component, joint_limits, limit_excess, load_gmm_prior
from mocap.body.synthetic_model import SyntheticModel
from mocap.body.synthetic_motion import observe_keypoints, random_motion
from mocap.errors import FileFormatError
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import SMPL24


def gmm_components(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.2, (3, 69))
    factors = rng.normal(0.0, 0.1, (3, 69, 69))
    covars = factors @ factors.transpose(0, 2, 1) + 0.05 * np.eye(69)
    return means, covars, np.array([0.5, 0.3, 0.2])


def test_limits_are_mirrored_and_knees_bend_one_way() -> None:
    limits = joint_limits()
    left, right = limits[SMPL24.index("left_knee") - 1], limits[SMPL24.index("right_knee") - 1]
    np.testing.assert_array_equal(left[0], right[0])  # flexion about X on both sides
    np.testing.assert_array_equal(left[1:], -right[1:, ::-1])
    pose = torch.zeros(1, 23, 3, dtype=torch.float64)
    pose[0, SMPL24.index("left_knee") - 1, 0] = -1.0  # hyperextension
    excess = limit_excess(pose, torch.as_tensor(limits))
    assert float(excess.sum()) == pytest.approx(1.0 - 0.15)


def test_gmm_prior_files_and_penalty(tmp_path: Path) -> None:
    means, covars, weights = gmm_components()
    np.savez(tmp_path / "gmm.npz", means=means, covars=covars, weights=weights)
    with (tmp_path / "gmm_08.pkl").open("wb") as handle:
        pickle.dump({"means": means, "covars": covars, "weights": weights}, handle, protocol=2)
    for name in ("gmm.npz", "gmm_08.pkl"):
        prior = load_gmm_prior(tmp_path / name)
        x = torch.as_tensor(np.stack([means[1], means[1] + 0.01]))
        expected = []
        for sample in x.numpy():
            values = [
                0.5 * (sample - m) @ np.linalg.inv(c) @ (sample - m) - np.log(w) + 0.5 * np.linalg.slogdet(c)[1]
                for m, c, w in zip(means, covars, weights, strict=True)
            ]
            expected.append(min(values))
        np.testing.assert_allclose(prior.penalty(x).numpy(), expected, rtol=1e-9)
        assert gmm_best_component(prior, x).tolist() == [1, 1]
    np.savez(tmp_path / "bad.npz", means=means, covars=-covars, weights=weights)
    with pytest.raises(FileFormatError, match="covars"):
        load_gmm_prior(tmp_path / "bad.npz")


def test_fit_with_a_gmm_prior(synthetic: SyntheticModel, tmp_path: Path) -> None:
    means, covars, weights = gmm_components()
    np.savez(tmp_path / "gmm.npz", means=np.zeros_like(means), covars=covars * 100, weights=weights)
    prior = load_gmm_prior(tmp_path / "gmm.npz")
    motion = random_motion(frames=6, seed=3)
    clean, true_joints = observe_keypoints(synthetic.model, motion, SMPL24)
    noisy = clean + np.random.default_rng(4).normal(0.0, 0.01, clean.shape)
    fit = fit_smpl(Poses3D.from_points(noisy[:, None], SMPL24, motion.fps), synthetic.model, FitConfig(), gmm=prior)[0]
    assert np.linalg.norm(fit.joints - true_joints, axis=-1).mean() < 0.02
