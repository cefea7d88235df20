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
