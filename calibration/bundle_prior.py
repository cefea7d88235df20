"""A Gaussian prior on the intrinsics refined in bundle adjustment, and the loss that keeps it quadratic.

When bundle adjustment refines the lenses (:class:`calibration.bundle_adjustment.BundleOptions`
``refine_intrinsics``), every refined term ``theta`` of camera ``c`` (fx, fy, cx, cy, k1, k2, p1, p2,
k3) can be pulled towards its value ``theta_0`` from the camera's own intrinsic calibration by one
more residual::

    r = w (theta - theta_0),    w = weight * sigma_px / std(theta_0)

where ``std(theta_0)`` is OpenCV's standard deviation of that term
(:attr:`calibration.intrinsics.IntrinsicsResult.std_intrinsics`) and ``sigma_px`` the per-axis
corner noise of that calibration (its RMS / sqrt 2). The corner residuals are in pixels with noise
``sigma_px``, so with ``weight = 1`` the prior carries the information a Gaussian of that standard
deviation would (MAP estimation; Triggs et al. 2000, "Bundle adjustment - a modern synthesis", 3.4
on priors as extra residuals). The standard deviations are marginal ones (OpenCV gives no
correlations), which is looser than the full covariance along well-determined combinations and
tighter along poorly determined ones, e.g. focal length against k1: exactly where the joint problem
drifts when the board is small and the synchronized views are few.

With ``BundleOptions.prior_correlations`` the prior uses the calibration's full information matrix
instead (:attr:`calibration.intrinsics.IntrinsicsResult.information`, the close-ups' ``J^T J`` with
their board poses marginalised out; :func:`prior_information`): its residuals are
``r = weight * S (theta - theta_0)`` with ``S^T S`` the information of the refined terms *given the
held ones* (the sub-block of the information matrix: the held terms sit at ``theta_0``, so the
refined ones are conditioned on them, not marginalised over them). To second order this is the
close-ups joining the adjustment themselves (``CalibrationOptions.joint_close_ups``) at the cost of
a few residuals per camera. The marginal standard deviations lose what matters most for the camera
rotations: the principal point's marginal deviation includes its trade with the tangential terms
(correlation 0.7-0.9 on the synthetic close-ups), which an adjustment that holds p1, p2 no longer
has; conditioned on them its deviation is about half (0.2-0.3 px against 0.4-0.6 px), so the
per-term prior lets the principal point, and with it the camera's rotation (``d / f`` radians per
``d`` pixels), follow the synchronized views further than the close-ups allow. Measured (``mocap
bench calibration --seeds 0 1 2 3 4``): camera rotations 12 % (4 cameras) and 2 % (8 cameras) nearer
the truth in RMS, as near as joining the close-ups; but on caliscope, whose close-ups come from
another session, the held-out boards come out worse (pair-distance median 0.40 -> 0.46 mm): the
close-ups' information is only as good as the lens stays between sessions and as the corner noise
is independent. The per-term prior stays the default.

The corner residuals go through a robust loss; the prior must not (a drifting lens would otherwise
be pulled back only linearly, and a large prior residual is not an outlier), so
:func:`partly_robust_loss` applies the robust function to the first residuals and the plain square
to the prior's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

#: Standard deviations below these (a term held fixed in the intrinsic calibration has std 0) are
#: raised to them: fx, fy, cx, cy in pixels, the distortion coefficients unitless. They make such a
#: term nearly fixed without an infinite weight.
STD_FLOOR = np.array([0.05, 0.05, 0.05, 0.05, 1e-4, 1e-4, 1e-5, 1e-5, 1e-4])


def prior_weights(
    std_intrinsics: NDArray[np.float64], noise_px: NDArray[np.float64], weight: float
) -> NDArray[np.float64]:
    """Per camera and term, the prior's ``w`` (pixels per unit of the term).

    Args:
        std_intrinsics: (V, 9) standard deviations of fx, fy, cx, cy, k1, k2, p1, p2, k3; 0 for a
            term held fixed; NaN where unknown (that term then gets no prior).
        noise_px: (V,) per-axis corner noise of each camera's intrinsic calibration, pixels.
        weight: overall strength (1 = the calibration's own uncertainty; 0 = no prior).

    Returns:
        (V, 9) weights, 0 where there is no prior.
    """
    std = np.asarray(std_intrinsics, dtype=np.float64).reshape(-1, 9)
    noise = np.asarray(noise_px, dtype=np.float64).reshape(len(std), 1)
    known = np.isfinite(std) & np.isfinite(noise)
    floored = np.maximum(np.where(known, std, 1.0), STD_FLOOR)
    return np.where(known, weight * np.where(np.isfinite(noise), noise, 0.0) / floored, 0.0)


def prior_information(
    information: NDArray[np.float64],
    std_intrinsics: NDArray[np.float64],
    noise_px: NDArray[np.float64],
    weight: float,
) -> NDArray[np.float64]:
    """Per camera, the prior's information matrix (V, 9, 9) over fx, fy, cx, cy, k1, k2, p1, p2, k3
    (pixels² per unit², i.e. in the units of the corner residuals).

    ``weight²`` times the calibration's information (:func:`calibration.intrinsics.lens_information`),
    plus, for a term held fixed in that calibration (std 0), the floor's weight of
    :func:`prior_weights` on the diagonal so that it stays nearly fixed. A camera whose information
    is unknown (NaN) gets the diagonal prior of :func:`prior_weights`.

    Args:
        information: (V, 9, 9) lens information per camera; NaN where unknown.
        std_intrinsics, noise_px, weight: as for :func:`prior_weights`.
    """
    info = np.asarray(information, dtype=np.float64).reshape(-1, 9, 9)
    std = np.asarray(std_intrinsics, dtype=np.float64).reshape(-1, 9)
    diagonal = prior_weights(std, noise_px, weight)
    out = np.zeros_like(info)
    for c in range(len(info)):
        if np.all(np.isfinite(info[c])):
            held = np.isfinite(std[c]) & (std[c] == 0)
            out[c] = weight**2 * info[c] + np.diag(np.where(held, diagonal[c] ** 2, 0.0))
        else:
            out[c] = np.diag(diagonal[c] ** 2)
    return out


def information_root(information: NDArray[np.float64]) -> NDArray[np.float64]:
    """A matrix ``S`` (k, k) with ``S^T S = information`` (k, k), symmetric positive semi-definite.

    The symmetric square root of the diagonally scaled matrix (its terms differ by many orders of
    magnitude: pixels of focal length against unitless distortion), negative rounding noise clipped.
    """
    info = 0.5 * (information + information.T)
    scale = np.sqrt(np.maximum(np.diag(info), 0.0))
    safe = np.where(scale > 0, scale, 1.0)
    normalised = info / safe[:, None] / safe[None, :]
    eigenvalues, vectors = np.linalg.eigh(normalised)
    root = (vectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ vectors.T
    return np.asarray(root * np.where(scale > 0, scale, 0.0)[None, :])


def _robust(name: str, z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``rho(z), rho'(z), rho''(z)`` (3, n) of scipy's named losses, for squared residuals ``z``."""
    out = np.empty((3, z.size))
    if name == "linear":
        out[0], out[1], out[2] = z, 1.0, 0.0
    elif name == "soft_l1":
        t = 1.0 + z
        out[0], out[1], out[2] = 2.0 * (np.sqrt(t) - 1.0), t**-0.5, -0.5 * t**-1.5
    elif name == "huber":
        inner = z <= 1.0
        safe = np.where(inner, 1.0, z)
        out[0] = np.where(inner, z, 2.0 * np.sqrt(safe) - 1.0)
        out[1] = np.where(inner, 1.0, safe**-0.5)
        out[2] = np.where(inner, 0.0, -0.5 * safe**-1.5)
    elif name == "cauchy":
        out[0], out[1], out[2] = np.log1p(z), 1.0 / (1.0 + z), -1.0 / (1.0 + z) ** 2
    elif name == "arctan":
        out[0], out[1], out[2] = np.arctan(z), 1.0 / (1.0 + z * z), -2.0 * z / (1.0 + z * z) ** 2
    else:
        raise ValueError(f"unknown loss {name!r}; use linear, soft_l1, huber, cauchy or arctan")
    return out


def partly_robust_loss(name: str, robust_count: int) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """A loss for ``scipy.optimize.least_squares``: the named robust one on the first
    ``robust_count`` residuals, the plain square (``linear``) on the rest."""
    _robust(name, np.zeros(1))  # an unknown name fails here, not inside the solver

    def loss(z: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty((3, z.size))
        out[:, :robust_count] = _robust(name, z[:robust_count])
        out[0, robust_count:], out[1, robust_count:], out[2, robust_count:] = z[robust_count:], 1.0, 0.0
        return out

    return loss
