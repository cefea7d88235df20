"""The torch SMPL layer against a plain per-joint numpy implementation, and its Jacobians."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from mocap.body.jacobians import JacobianModel, right_jacobian
from mocap.body.layer import SmplLayer, axis_angle_to_matrix, resolve_device
from mocap.body.model_file import SmplModel
from mocap.body.synthetic_model import SyntheticModel
from mocap.errors import MocapError, ShapeError
from mocap.skeleton.layouts import SMPL24


def reference_smpl(
    model: SmplModel, betas: NDArray[np.float64], pose: NDArray[np.float64], trans: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """SMPL (Loper et al. 2015) one frame, one joint at a time: (joints (J, 3), vertices (N, 3))."""
    shaped = model.v_template + model.shapedirs @ betas
    rest = model.j_regressor @ shaped
    rotations = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix()
    feature = (rotations[1:] - np.eye(3)).reshape(-1)
    posed = shaped + model.posedirs @ feature
    world: list[NDArray[np.float64]] = []
    for j, parent in enumerate(model.parents):
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        local[:3, 3] = rest[j] - (rest[parent] if parent >= 0 else 0.0)
        world.append(local if parent < 0 else world[parent] @ local)
    skinning = []
    for j, g in enumerate(world):
        a = g.copy()
        a[:3, 3] -= g[:3, :3] @ rest[j]
        skinning.append(a)
    blend = np.einsum("nj,jab->nab", model.weights, np.array(skinning))
    vertices = np.einsum("nab,nb->na", blend[:, :3, :3], posed) + blend[:, :3, 3]
    joints = np.array([g[:3, 3] for g in world])
    return joints + trans, vertices + trans


def test_synthetic_model_has_the_official_layout(synthetic: SyntheticModel) -> None:
    model = synthetic.model
    arrays = model.arrays()
    n = model.num_vertices
    assert arrays["v_template"].shape == (n, 3)
    assert arrays["shapedirs"].shape == (n, 3, 10)
    assert arrays["posedirs"].shape == (n, 3, 207)
    assert arrays["J_regressor"].shape == (24, n)
    assert arrays["weights"].shape == (n, 24)
    assert arrays["kintree_table"].shape == (2, 24)
    assert arrays["f"].shape[1] == 3
    np.testing.assert_allclose(model.weights.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.parents, SMPL24.parents)
    # the regressor recovers an upright body: head above pelvis above ankles (SMPL frame, Y up)
    joints = model.j_regressor @ model.v_template
    assert joints[SMPL24.index("head"), 1] > joints[0, 1] > joints[SMPL24.index("left_ankle"), 1]
    assert joints[SMPL24.index("left_shoulder"), 0] > 0  # X to the body's left


@pytest.mark.parametrize("vertex_subset", [False, True])
def test_layer_matches_reference(synthetic: SyntheticModel, vertex_subset: bool) -> None:
    model = synthetic.model
    rng = np.random.default_rng(3)
    layer = SmplLayer(model, dtype=torch.float64)
    betas = rng.normal(0.0, 1.0, 10)
    pose = rng.normal(0.0, 0.4, (3, 72))
    trans = rng.normal(0.0, 1.0, (3, 3))
    ids = np.array([5, 17, synthetic.vertex_keypoints["nose"], model.num_vertices - 1])
    out = layer(
        torch.tensor(betas),
        torch.tensor(pose.reshape(3, 24, 3)),
        torch.tensor(trans),
        vertex_ids=torch.tensor(ids) if vertex_subset else None,
    )
    assert out.vertices is not None
    for b in range(3):
        joints, vertices = reference_smpl(model, betas, pose[b], trans[b])
        np.testing.assert_allclose(out.joints[b].numpy(), joints, atol=1e-10)
        np.testing.assert_allclose(out.vertices[b].numpy(), vertices[ids] if vertex_subset else vertices, atol=1e-10)


def test_rest_pose_gives_the_regressed_joints(synthetic: SyntheticModel) -> None:
    layer = SmplLayer(synthetic.model, dtype=torch.float64)
    f64 = torch.float64
    out = layer(torch.zeros(10, dtype=f64), torch.zeros(1, 24, 3, dtype=f64), vertices=False)
    np.testing.assert_allclose(out.joints[0].numpy(), synthetic.model.j_regressor @ synthetic.model.v_template)


def test_rodrigues_is_accurate_and_differentiable_at_zero() -> None:
    rvecs = torch.tensor([[0.0, 0.0, 0.0], [1e-6, -2e-6, 0.0], [0.3, -1.2, 2.0]], dtype=torch.float64)
    expected = Rotation.from_rotvec(rvecs.numpy()).as_matrix()
    np.testing.assert_allclose(axis_angle_to_matrix(rvecs).numpy(), expected, atol=1e-14)
    zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (axis_angle_to_matrix(zero)[0, 1]).backward()
    assert zero.grad is not None and torch.isfinite(zero.grad).all()
    np.testing.assert_allclose(zero.grad.numpy(), [0.0, 0.0, -1.0])


def test_point_jacobians_match_autograd(synthetic: SyntheticModel) -> None:
    """Joints and skinned vertices, pose and shape, without pose blend shapes (left out by design)."""
    from dataclasses import replace

    model = replace(synthetic.model, posedirs=np.zeros_like(synthetic.model.posedirs))
    layer = SmplLayer(model, dtype=torch.float64)
    rng = np.random.default_rng(5)
    betas = torch.tensor(rng.normal(0, 1, 10))
    rvecs = torch.tensor(rng.normal(0, 0.5, (2, 24, 3)))
    ids = torch.tensor([synthetic.vertex_keypoints[n] for n in ("nose", "left_big_toe", "right_index")])
    jac = JacobianModel(layer, ids)

    def points(b: torch.Tensor, r: torch.Tensor, frame: int) -> torch.Tensor:
        out = layer(b, r[None], vertex_ids=ids)
        assert out.vertices is not None
        return torch.cat([out.joints, out.vertices], dim=1)[0]

    out = layer(betas, rvecs, vertex_ids=ids)
    pj = jac.point_jacobians(betas, out.rotations_world, out.joints, out.rest_vertices, rvecs)
    for frame in range(2):
        d_shape, d_pose = torch.autograd.functional.jacobian(
            lambda b, r, f=frame: points(b, r, f), (betas, rvecs[frame])
        )
        np.testing.assert_allclose(pj.pose[frame, :, :, :72].numpy(), d_pose.reshape(27, 3, 72).numpy(), atol=1e-9)
        np.testing.assert_allclose(pj.pose[frame, :, :, 72:].numpy(), np.broadcast_to(np.eye(3), (27, 3, 3)))
        np.testing.assert_allclose(pj.shape[frame].numpy(), d_shape.numpy(), atol=1e-9)


def test_right_jacobian_small_and_large_angles() -> None:
    for rvec in ([1e-5, 0.0, 2e-5], [0.4, -0.9, 1.3]):
        theta = torch.tensor(rvec, dtype=torch.float64)
        step = torch.tensor([1e-7, -2e-7, 1.5e-7], dtype=torch.float64)
        # exp(theta + step) ~ exp(theta) exp(Jr(theta) step)
        lhs = axis_angle_to_matrix(theta + step)
        rhs = axis_angle_to_matrix(theta) @ axis_angle_to_matrix(right_jacobian(theta) @ step)
        np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), atol=1e-12)


def test_bad_shapes_and_devices(synthetic: SyntheticModel) -> None:
    layer = SmplLayer(synthetic.model)
    with pytest.raises(ShapeError, match="pose"):
        layer(torch.zeros(10), torch.zeros(2, 23, 3))
    with pytest.raises(ShapeError, match="betas"):
        layer(torch.zeros(7), torch.zeros(2, 24, 3))
    with pytest.raises(ShapeError, match="trans"):
        layer(torch.zeros(10), torch.zeros(2, 24, 3), torch.zeros(3, 3))
    with pytest.raises(MocapError, match="device"):
        resolve_device("quantum")
    if not torch.cuda.is_available():
        with pytest.raises(MocapError, match="--device cpu"):
            resolve_device("cuda")
