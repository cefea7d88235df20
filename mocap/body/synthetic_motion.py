"""Known SMPL motion for tests and benchmarks: smooth random poses and the keypoints they produce.

:func:`random_motion` draws a shape and a smooth motion (each body-pose component a sinusoid of
its own amplitude, frequency and phase, kept inside the joint limits of :mod:`mocap.body.priors`),
standing upright in the studio's Z-up world (SMPL's Y-up frame turned +90 degrees about X) and
turning slowly about Z while walking along +X. :func:`observe_keypoints` poses a model with it
and reads the keypoints of a layout through the fitter's own correspondences, so a fit of the
result has an exact answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mocap.body.model_file import SmplModel
from mocap.skeleton.layouts import KeypointLayout


@dataclass(frozen=True)
class KnownMotion:
    """SMPL parameters of a motion.

    Attributes:
        betas: (S,) shape.
        poses: (T, 72) axis-angle, root first (root maps the model frame into the Z-up world).
        trans: (T, 3) metres.
        fps: frames per second.
    """

    betas: NDArray[np.float64] = field(repr=False)
    poses: NDArray[np.float64] = field(repr=False)
    trans: NDArray[np.float64] = field(repr=False)
    fps: float


def random_motion(frames: int, seed: int = 1, fps: float = 30.0, num_betas: int = 10) -> KnownMotion:
    """A smooth random motion inside the joint limits (see the module docstring); deterministic for a seed."""
    from scipy.spatial.transform import Rotation

    from mocap.body.priors import joint_limits

    rng = np.random.default_rng(seed)
    limits = joint_limits()  # (23, 3, 2)
    t = np.arange(frames) / fps
    amplitude = rng.uniform(0.1, 0.4, (23, 3))
    phase = rng.uniform(0.0, 2 * np.pi, (23, 3))
    freq = rng.uniform(0.3, 1.0, (23, 3))
    centre = 0.15 * (limits[..., 0] + limits[..., 1])
    body = centre + amplitude * np.sin(2 * np.pi * freq * t[:, None, None] + phase)
    body = np.clip(body, limits[..., 0] + 0.05, limits[..., 1] - 0.05)
    heading = np.stack([np.zeros(frames), np.zeros(frames), 0.5 * np.sin(t) + 0.3], axis=1)
    root = (Rotation.from_rotvec(heading) * Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])).as_rotvec()
    trans = np.stack([0.5 * t + 0.2, 0.1 * np.sin(t), np.full(frames, 0.95)], axis=1)
    poses = np.concatenate([root, body.reshape(frames, 69)], axis=1)
    return KnownMotion(betas=rng.normal(0.0, 1.0, num_betas), poses=poses, trans=trans, fps=fps)


def observe_keypoints(
    model: SmplModel,
    motion: KnownMotion,
    layout: KeypointLayout,
    vertex_keypoints: Mapping[str, int] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact keypoints of ``layout`` from the posed model, and the posed SMPL joints.

    Returns:
        ``keypoints (T, J_layout, 3)`` world metres, NaN where the layout's keypoint has no SMPL
        point, and ``joints (T, J_model, 3)``.
    """
    import torch

    from mocap.body.keypoints import body_keypoint_map
    from mocap.body.layer import SmplLayer

    table = vertex_keypoints if vertex_keypoints is not None else model.vertex_keypoints
    mapping = body_keypoint_map(layout, model.num_vertices, table, model.num_joints)
    layer = SmplLayer(model.with_num_betas(len(motion.betas)), dtype=torch.float64)
    with torch.no_grad():
        out = layer(
            torch.tensor(motion.betas),
            torch.tensor(motion.poses.reshape(len(motion.poses), -1, 3)),
            torch.tensor(motion.trans),
            vertex_ids=torch.as_tensor(mapping.vertex_ids),
            vertices=len(mapping.vertex_ids) > 0,
        )
    points = out.joints if out.vertices is None else torch.cat([out.joints, out.vertices], dim=1)
    keypoints = np.full((len(motion.poses), layout.num_joints, 3), np.nan)
    keypoints[:, mapping.fitted] = points.numpy()[:, mapping.source[mapping.fitted]]
    return keypoints, out.joints.numpy()
