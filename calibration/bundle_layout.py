"""Where the unknowns of bundle adjustment sit in the parameter vector, the sparse Jacobian's
assembly, and the block-Jacobi preconditioner (see :mod:`calibration.bundle_adjustment`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from calibration.bundle_adjustment import BoardObservations

INTRINSIC_SIZE = 9  # fx, fy, cx, cy, k1, k2, p1, p2, k3
#: Lens terms refined jointly, by :class:`calibration.bundle_adjustment.BundleOptions` ``lens_terms``.
LENS_TERMS = {"radial2": (0, 1, 2, 3, 4, 5), "all": tuple(range(INTRINSIC_SIZE))}


class Layout:
    """Where each unknown sits in the parameter vector."""

    def __init__(
        self,
        num_cameras: int,
        num_boards: int,
        fixed_camera: int,
        refine_intrinsics: bool,
        terms: tuple[int, ...] = tuple(range(INTRINSIC_SIZE)),
    ) -> None:
        self.terms = np.array(terms, dtype=np.int64)  # refined entries of (fx, fy, cx, cy, k1, k2, p1, p2, k3)
        self.num_terms = len(terms)
        self.num_cameras = num_cameras
        self.num_boards = num_boards
        self.free_cameras = [i for i in range(num_cameras) if i != fixed_camera]
        self.camera_offset = {cam: 6 * k for k, cam in enumerate(self.free_cameras)}
        self.board_start = 6 * len(self.free_cameras)
        self.intrinsic_start = self.board_start + 6 * num_boards
        self.refine_intrinsics = refine_intrinsics
        self.size = self.intrinsic_start + (self.num_terms * num_cameras if refine_intrinsics else 0)

    def pack(
        self, cameras: NDArray[np.float64], boards: NDArray[np.float64], intrinsics: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        parts = [cameras[self.free_cameras].ravel(), boards.ravel()]
        if self.refine_intrinsics:
            parts.append(intrinsics[:, self.terms].ravel())
        return np.concatenate(parts)

    def unpack(
        self, x: NDArray[np.float64], cameras: NDArray[np.float64], intrinsics: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        cams = cameras.copy()
        cams[self.free_cameras] = x[: self.board_start].reshape(-1, 6)
        boards = x[self.board_start : self.intrinsic_start].reshape(self.num_boards, 6)
        intr = intrinsics
        if self.refine_intrinsics:
            intr = intrinsics.copy()
            intr[:, self.terms] = x[self.intrinsic_start :].reshape(self.num_cameras, self.num_terms)
        return cams, boards, intr

    def groups(self) -> list[NDArray[np.int64]]:
        """Parameter columns that are preconditioned together: per camera its pose (when free) and
        its intrinsics (when refined), per board its pose."""
        out = []
        for camera in range(self.num_cameras):
            cols: list[int] = []
            if camera in self.camera_offset:
                cols.extend(range(self.camera_offset[camera], self.camera_offset[camera] + 6))
            if self.refine_intrinsics:
                start = self.intrinsic_start + self.num_terms * camera
                cols.extend(range(start, start + self.num_terms))
            if cols:
                out.append(np.array(cols, dtype=np.int64))
        out.extend(np.arange(6, dtype=np.int64) + self.board_start + 6 * b for b in range(self.num_boards))
        return out

    def columns(self, observations: BoardObservations) -> NDArray[np.int64]:
        """Parameter column of each derivative block entry (M, 21): camera pose (6), board pose (6),
        intrinsics (9); -1 where the entry is not a parameter (fixed camera, fixed intrinsics)."""
        m = len(observations)
        out = np.full((m, 21), -1, dtype=np.int64)
        base = np.array([self.camera_offset.get(c, -1) for c in range(self.num_cameras)])[observations.camera]
        free = base >= 0
        out[free, :6] = base[free, None] + np.arange(6)
        out[:, 6:12] = self.board_start + 6 * observations.board[:, None] + np.arange(6)
        if self.refine_intrinsics:
            out[:, 12 + self.terms] = (
                self.intrinsic_start + self.num_terms * observations.camera[:, None] + np.arange(self.num_terms)
            )
        return out

    def jacobian(self, blocks: NDArray[np.float64], columns: NDArray[np.int64]) -> object:
        """Sparse Jacobian (2M, size) from derivative blocks (M, 2, 21) and their columns (M, 21)."""
        from scipy.sparse import csr_matrix

        m = len(columns)
        valid = columns >= 0
        rows = (2 * np.arange(m)[:, None, None] + np.arange(2)[None, :, None]) * np.ones((1, 1, 21), dtype=np.int64)
        cols = np.broadcast_to(columns[:, None, :], (m, 2, 21))
        mask = np.broadcast_to(valid[:, None, :], (m, 2, 21))
        return csr_matrix((blocks[mask], (rows[mask], cols[mask])), shape=(2 * m, self.size))


def block_preconditioner(jac: object, groups: list[NDArray[np.int64]], size: int) -> Any:
    """Sparse block-diagonal ``P`` (size, size): per group, ``(J_g^T J_g)^(-1/2)`` (eigenvalues floored
    at 1e-12 of the largest, so an unobserved direction stays finite)."""
    from scipy.sparse import csc_matrix, csr_matrix

    gram = (csc_matrix(jac).T @ csc_matrix(jac)).tocsr()
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    values: list[NDArray[np.float64]] = []
    for group in groups:
        block = gram[group][:, group].toarray()
        eigenvalues, vectors = np.linalg.eigh(block)
        floor = max(float(eigenvalues.max()), 1e-300) * 1e-12
        inverse_root = (vectors / np.sqrt(np.maximum(eigenvalues, floor))) @ vectors.T
        rows.append(np.repeat(group, len(group)))
        cols.append(np.tile(group, len(group)))
        values.append(inverse_root.ravel())
    return csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
