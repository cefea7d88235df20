"""Pose priors for SMPL fitting: joint-angle limits, and a Gaussian-mixture prior from a file.

**Joint-angle limits** (the default): each of the 23 body joints has a box on the three components
of its axis-angle vector, in SMPL's joint frames (X to the body's left, Y up, Z forward at rest;
every SMPL joint frame is parallel to the root's at rest). The components approximate flexion about
X, twist/abduction about Y and Z for moderate angles. The penalty is the squared excess outside the
box. Knees bend about +X only (flexion 0 to 2.6 rad), elbows about Y only (the left towards -Y, the
right towards +Y); other ranges are generous human ranges of motion, so they stop implausible
solutions (a knee bending forwards) without biasing normal motion. The right side mirrors the left
(Y and Z components change sign).

**Gaussian mixture** (when a file is supplied): the SMPLify pose prior layout — ``means (M, 69)``,
``covars (M, 69, 69)``, ``weights (M,)`` over the 69 body-pose values — read from ``.pkl`` (through
the restricted unpickler) or ``.npz``. The penalty is the max-mixture approximation of the negative
log-likelihood used by SMPLify (Bogo et al., ECCV 2016): ``min_m 0.5 (x - mu_m)' P_m (x - mu_m) -
log w_m + 0.5 log det C_m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import frozen
from mocap.errors import FileFormatError, MissingFileError, ShapeError
from mocap.skeleton.layouts import SMPL24

if TYPE_CHECKING:
    from torch import Tensor

#: Left and midline joints: (x range, y range, z range) in radians, axis-angle components.
_LIMITS_LEFT: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "left_hip": ((-2.6, 0.9), (-1.0, 1.0), (-0.6, 1.4)),
    "spine1": ((-0.6, 1.0), (-0.6, 0.6), (-0.5, 0.5)),
    "left_knee": ((-0.15, 2.7), (-0.4, 0.4), (-0.3, 0.3)),
    "spine2": ((-0.6, 1.0), (-0.6, 0.6), (-0.5, 0.5)),
    "left_ankle": ((-0.9, 1.0), (-0.6, 0.6), (-0.6, 0.6)),
    "spine3": ((-0.6, 1.0), (-0.6, 0.6), (-0.5, 0.5)),
    "left_foot": ((-0.9, 0.7), (-0.4, 0.4), (-0.4, 0.4)),
    "neck": ((-0.8, 1.0), (-1.1, 1.1), (-0.7, 0.7)),
    "left_collar": ((-0.6, 0.6), (-0.7, 0.7), (-0.6, 0.6)),
    "head": ((-0.8, 0.8), (-1.1, 1.1), (-0.7, 0.7)),
    "left_shoulder": ((-2.2, 2.2), (-2.2, 1.7), (-2.0, 1.7)),
    "left_elbow": ((-1.7, 1.7), (-2.8, 0.15), (-0.5, 0.5)),
    "left_wrist": ((-1.7, 1.7), (-1.2, 1.2), (-1.2, 1.2)),
    "left_hand": ((-0.7, 0.7), (-0.7, 0.7), (-0.7, 0.7)),
}


def joint_limits() -> NDArray[np.float64]:
    """(23, 3, 2) lower/upper bounds of the body joints 1..23 (see the module docstring)."""
    limits = np.zeros((23, 3, 2))
    for name, ranges in _LIMITS_LEFT.items():
        box = np.array(ranges)
        limits[SMPL24.index(name) - 1] = box
        if name.startswith("left_"):
            mirrored = box.copy()
            mirrored[1:] = -box[1:, ::-1]
            limits[SMPL24.index("right_" + name[5:]) - 1] = mirrored
    return limits


def limit_excess(body_pose: Tensor, limits: Tensor) -> Tensor:
    """How far axis-angle components lie outside their box: ``(B, 23, 3)`` -> ``(B, 23, 3)`` radians."""
    import torch

    return torch.relu(limits[..., 0] - body_pose) + torch.relu(body_pose - limits[..., 1])


@dataclass(frozen=True, eq=False)
class GmmPosePrior:
    """A Gaussian mixture over the 69 body-pose values (see the module docstring).

    Attributes:
        means: (M, 69) component means, radians.
        precisions: (M, 69, 69) inverse covariances.
        constants: (M,) ``-log w_m + 0.5 log det C_m``.
        source: the file it came from.
    """

    means: NDArray[np.float64] = field(repr=False)
    precisions: NDArray[np.float64] = field(repr=False)
    constants: NDArray[np.float64] = field(repr=False)
    source: Path | None = None
    _cache: dict[tuple[Any, Any], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        object.__setattr__(self, "means", frozen("means", self.means, ("M", 69), np.float64, sizes))
        object.__setattr__(self, "precisions", frozen("covars", self.precisions, ("M", 69, 69), np.float64, sizes))
        object.__setattr__(self, "constants", frozen("weights", self.constants, ("M",), np.float64, sizes))

    @classmethod
    def from_components(
        cls, means: NDArray[Any], covars: NDArray[Any], weights: NDArray[Any], source: Path | None = None
    ) -> GmmPosePrior:
        """Build from means (M, 69), covariances (M, 69, 69) and weights (M,).

        Raises:
            ShapeError: wrong shapes, non-positive weights or covariances that are not positive definite.
        """
        covars = np.asarray(covars, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if covars.ndim != 3 or covars.shape[1:] != (69, 69):
            raise ShapeError("covars", "(M, 69, 69)", str(covars.shape))
        if np.any(weights <= 0):
            raise ShapeError("weights", "positive mixture weights", str(weights))
        signs, logdets = np.linalg.slogdet(covars)
        if np.any(signs <= 0):
            raise ShapeError("covars", "positive-definite covariances", "a singular or indefinite matrix")
        constants = -np.log(weights / weights.sum()) + 0.5 * logdets
        return cls(np.asarray(means, dtype=np.float64), np.linalg.inv(covars), constants, source)

    def tensors(self, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``means, precisions, constants`` as tensors of ``like``'s dtype and device (made once each)."""
        import torch

        key = (like.dtype, like.device)
        cache: dict[tuple[Any, Any], tuple[Tensor, Tensor, Tensor]] = self._cache
        if key not in cache:
            cache[key] = tuple(  # type: ignore[assignment]
                torch.as_tensor(np.array(a), dtype=like.dtype, device=like.device)
                for a in (self.means, self.precisions, self.constants)
            )
        return cache[key]

    def components(self, body_pose: Tensor) -> Tensor:
        """Per-component penalties ``(B, 69)`` -> ``(B, M)``."""
        import torch

        means, precisions, constants = self.tensors(body_pose)
        diff = body_pose[:, None, :] - means[None]  # (B, M, 69)
        mahalanobis = torch.einsum("bmi,mij,bmj->bm", diff, precisions, diff)
        return 0.5 * mahalanobis + constants[None]

    def penalty(self, body_pose: Tensor) -> Tensor:
        """Max-mixture negative log-likelihood ``(B, 69)`` -> ``(B,)`` on the tensor's device."""
        return self.components(body_pose).min(dim=1).values


def gmm_best_component(prior: GmmPosePrior, body_pose: Tensor) -> Tensor:
    """Index ``(B,)`` of the component that attains the max-mixture penalty for ``(B, 69)``."""
    return prior.components(body_pose).argmin(dim=1)


def load_gmm_prior(path: str | Path) -> GmmPosePrior:
    """Read a GMM pose prior (``.pkl`` as SMPLify ships it, or ``.npz``) with keys means, covars, weights.

    Raises:
        MissingFileError, UnsafePickleError, FileFormatError: naming the file and field.
    """
    from mocap.body.safe_pickle import load_restricted_pickle

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such GMM pose prior file")
    if path.suffix.lower() == ".pkl":
        data = load_restricted_pickle(path)
        if not isinstance(data, dict):
            raise FileFormatError(path, "", f"expected a dict with means, covars, weights; got {type(data).__name__}")
    else:
        from mocap.npz_io import read_npz

        data = read_npz(path, ("means", "covars", "weights"), "a GMM pose prior .npz")
    for key in ("means", "covars", "weights"):
        if key not in data:
            raise FileFormatError(path, key, "missing; a GMM pose prior holds means, covars and weights")
    try:
        return GmmPosePrior.from_components(data["means"], data["covars"], data["weights"], source=path)
    except ShapeError as exc:
        raise FileFormatError(path, exc.name, f"expected {exc.expected}, got {exc.actual}") from None
