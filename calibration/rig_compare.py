"""Comparing two calibrations of the same cameras: after aligning their world frames, and pair by pair.

Two calibrations of one rig agree only up to the choice of world frame, so they are compared
either after the rigid transform that best maps one onto the other (:func:`compare_rigs`: the
rotation is the chordal mean of the per-camera rotation differences, the translation the one that
then best matches the camera centres) or through quantities that do not depend on the world frame
(:func:`relative_pose_errors`: for every pair of cameras, the rotation and the baseline between them).

A camera's rotation and its principal point trade off: shifting the principal point by ``d`` pixels
and turning the camera by ``d / f`` radians sends almost the same rays through the same pixels, and a
small board seen from afar cannot tell the two apart. :func:`relative_view_errors` therefore also
compares the rotations of the cameras' *views* — the frame of the rays through the image centre and
towards the image's x axis (:func:`view_rotation`) — which such a trade leaves unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera
from calibration.extrinsics import project_rotation, rotation_angle_deg
from calibration.rig import CameraRig


@dataclass(frozen=True, eq=False)
class RigComparison:
    """Per camera (in the order of the rigs' shared names), how ``estimate`` differs from ``reference``.

    Attributes:
        names: cameras compared.
        rotation_deg: angle between the aligned orientations, degrees.
        centre_m: distance between the aligned centres, metres.
        focal_pct: relative focal length difference ``(fx, fy)`` in percent, shape (V, 2).
        principal_px: principal point difference ``(cx, cy)`` in pixels, shape (V, 2).
        reference_from_estimate: the aligning rigid transform (4, 4) between the world frames.
    """

    names: tuple[str, ...]
    rotation_deg: NDArray[np.float64] = field(repr=False)
    centre_m: NDArray[np.float64] = field(repr=False)
    focal_pct: NDArray[np.float64] = field(repr=False)
    principal_px: NDArray[np.float64] = field(repr=False)
    reference_from_estimate: NDArray[np.float64] = field(repr=False)


def compare_rigs(estimate: CameraRig, reference: CameraRig) -> RigComparison:
    """Compare the cameras two rigs share, after aligning ``estimate``'s world frame to ``reference``'s.

    Raises:
        ValueError: the rigs share fewer than two camera names.
    """
    names = tuple(n for n in estimate.names if n in reference.names)
    if len(names) < 2:
        raise ValueError("the rigs share fewer than two camera names")
    est = [estimate[n] for n in names]
    ref = [reference[n] for n in names]
    # camera_from_ref_world = camera_from_est_world @ est_from_ref  =>  R_est^T R_ref ~ est_from_ref
    est_from_ref = project_rotation(np.mean([e.rotation.T @ r.rotation for e, r in zip(est, ref, strict=True)], axis=0))
    ref_from_est = est_from_ref.T
    centres_est = np.array([e.center_world for e in est])
    centres_ref = np.array([r.center_world for r in ref])
    translation = np.mean(centres_ref - centres_est @ ref_from_est.T, axis=0)
    aligned = centres_est @ ref_from_est.T + translation
    rotations = np.array(
        [rotation_angle_deg(r.rotation, e.rotation @ est_from_ref) for e, r in zip(est, ref, strict=True)]
    )
    transform = np.eye(4)
    transform[:3, :3], transform[:3, 3] = ref_from_est, translation
    return RigComparison(
        names=names,
        rotation_deg=rotations,
        centre_m=np.linalg.norm(aligned - centres_ref, axis=1),
        focal_pct=np.array([(e.focal_lengths / r.focal_lengths - 1.0) * 100 for e, r in zip(est, ref, strict=True)]),
        principal_px=np.array([e.principal_point - r.principal_point for e, r in zip(est, ref, strict=True)]),
        reference_from_estimate=transform,
    )


def relative_pose_errors(estimate: CameraRig, reference: CameraRig) -> list[tuple[str, str, float, float, float]]:
    """For every pair of shared cameras: names, rotation difference (deg), baseline difference (m),
    and the angle between the baseline directions (deg) — all independent of the world frame."""
    names = [n for n in estimate.names if n in reference.names]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ea, eb, ra, rb = estimate[a], estimate[b], reference[a], reference[b]
            rel_est = eb.rotation @ ea.rotation.T
            rel_ref = rb.rotation @ ra.rotation.T
            # baseline b - a expressed in camera a's frame (frame independent)
            base_est = ea.rotation @ (eb.center_world - ea.center_world)
            base_ref = ra.rotation @ (rb.center_world - ra.center_world)
            cos = float(np.dot(base_est, base_ref) / (np.linalg.norm(base_est) * np.linalg.norm(base_ref)))
            out.append(
                (
                    a,
                    b,
                    float(rotation_angle_deg(rel_ref, rel_est)),
                    float(np.linalg.norm(base_est) - np.linalg.norm(base_ref)),
                    float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))),
                )
            )
    return out


def view_rotation(camera: Camera) -> NDArray[np.float64]:
    """Rotation (3, 3) from the world to the camera's view frame: z along the ray through the image
    centre, x towards the ray 100 pixels to its right (lens distortion removed), y completing it."""
    width, height = camera.image_size
    rays = camera.undistort_points(np.array([[width / 2, height / 2], [width / 2 + 100, height / 2]]), normalized=True)
    z = np.array([rays[0, 0], rays[0, 1], 1.0])
    z /= np.linalg.norm(z)
    x = np.array([rays[1, 0], rays[1, 1], 1.0])
    x -= z * (x @ z)
    x /= np.linalg.norm(x)
    view_from_camera = np.stack([x, np.cross(z, x), z])
    return np.asarray(view_from_camera @ camera.rotation)


def relative_view_errors(estimate: CameraRig, reference: CameraRig) -> list[tuple[str, str, float]]:
    """For every pair of shared cameras: names and the difference (deg) of the rotation between their
    views (:func:`view_rotation`), independent of the world frame and of principal-point trades."""
    names = [n for n in estimate.names if n in reference.names]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rel_est = view_rotation(estimate[b]) @ view_rotation(estimate[a]).T
            rel_ref = view_rotation(reference[b]) @ view_rotation(reference[a]).T
            out.append((a, b, float(rotation_angle_deg(rel_ref, rel_est))))
    return out
