"""A rig's parameters as plain arrays, in rig order, for the compiled and torch triangulation kernels."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig

#: Lens coefficients per camera in the arrays: OpenCV's full ``k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4``.
LENS_COEFFICIENTS = 12


def camera_arrays(rig: CameraRig) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The rig as arrays.

    Returns:
        intrinsics (V, 5) ``fx, fy, cx, cy, skew``; distortion (V, 12) OpenCV coefficients,
        zero-padded (4, 5 and 8 coefficient lenses are the same model with zeros); extrinsics
        (V, 3, 4) ``camera_from_world`` ``[R | t]``.
    """
    intrinsics = np.array(
        [[c.matrix[0, 0], c.matrix[1, 1], c.matrix[0, 2], c.matrix[1, 2], c.matrix[0, 1]] for c in rig]
    )
    distortion = np.zeros((len(rig), LENS_COEFFICIENTS))
    for i, cam in enumerate(rig):
        distortion[i, : len(cam.distortion)] = cam.distortion
    extrinsics = np.ascontiguousarray(np.stack([c.extrinsic_matrix[:3] for c in rig]))
    return intrinsics.reshape(len(rig), 5), distortion, extrinsics
