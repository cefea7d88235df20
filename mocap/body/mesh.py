"""Posed SMPL meshes of a fit, and their export as one mesh file per frame (PLY or OBJ).

A folder ``meshes/`` receives ``frame_000000.ply`` ... (or ``.obj``), one triangle mesh per frame,
vertices in metres in the studio's world frame (Z up) — the frame the fit was made in; Blender's
*Stop-motion OBJ* add-on, MeshLab and Open3D read such sequences. PLY files are binary
little-endian (``float32`` vertices, ``uint8`` count + ``int32`` indices per face), a third of the
size of the text OBJ.

The folder appears complete or not at all: frames are written into a hidden sibling folder that
is renamed into place at the end (an existing empty folder is replaced; a non-empty one is
refused rather than mixed with older frames).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from calibration.files import OutputPathError, check_writable
from calibration.progress import CancelToken, Progress, check_cancelled
from mocap.body.model_file import SmplModel
from mocap.body.result import SmplFit
from mocap.errors import MocapError

MeshFormat = Literal["ply", "obj"]
MESH_FORMATS: tuple[MeshFormat, ...] = ("ply", "obj")


class MeshExportError(MocapError, ValueError):
    """A fit and a model that do not go together, or an unknown mesh format."""


def posed_vertices(
    fit: SmplFit, model: SmplModel, *, device: str = "cpu", batch_frames: int = 256
) -> Iterator[tuple[int, NDArray[np.float32]]]:
    """Posed vertices of every frame, a batch at a time: yields ``(first frame, (B, N, 3) float32)``.

    Args:
        fit: the fitted parameters.
        model: the model file the fit was made with (same joints, at least as many betas).
        device: torch device for the skinning.
        batch_frames: frames skinned at once.

    Raises:
        MeshExportError: the model does not match the fit.
        DeviceError: the device is not available.
    """
    import torch

    from mocap.body.layer import SmplLayer

    if model.num_joints * 3 != fit.poses.shape[1]:
        raise MeshExportError(f"the fit has {fit.poses.shape[1] // 3} joints per frame, the model {model.num_joints}")
    if len(fit.betas) > model.num_betas:
        raise MeshExportError(f"the fit has {len(fit.betas)} shape coefficients, the model only {model.num_betas}")
    layer = SmplLayer(model.with_num_betas(len(fit.betas)), device=device, dtype=torch.float32)
    betas = torch.as_tensor(np.array(fit.betas, dtype=np.float32), device=layer.device)
    with torch.no_grad():
        for start in range(0, fit.num_frames, batch_frames):
            stop = min(start + batch_frames, fit.num_frames)
            pose = torch.as_tensor(np.array(fit.poses[start:stop], dtype=np.float32).reshape(-1, model.num_joints, 3))
            trans = torch.as_tensor(np.array(fit.trans[start:stop], dtype=np.float32))
            out = layer(betas, pose.to(layer.device), trans.to(layer.device), vertices=True)
            yield start, cast("torch.Tensor", out.vertices).cpu().numpy()


def ply_bytes(vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> bytes:
    """A binary little-endian PLY of one triangle mesh: vertices (N, 3), faces (F, 3)."""
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment mocap-studio SMPL mesh, metres, world Z up\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    face_dtype = np.dtype([("count", "u1"), ("index", "<i4", (3,))])
    records = np.empty(len(faces), dtype=face_dtype)
    records["count"] = 3
    records["index"] = faces
    return header.encode("ascii") + np.asarray(vertices, dtype="<f4").tobytes() + records.tobytes()


def obj_bytes(vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> bytes:
    """A Wavefront OBJ of one triangle mesh (1-based indices)."""
    lines = ["# mocap-studio SMPL mesh, metres, world Z up"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(vertices, dtype=np.float64)]
    lines += [f"f {a} {b} {c}" for a, b, c in np.asarray(faces, dtype=np.int64) + 1]
    return ("\n".join(lines) + "\n").encode("ascii")


@contextlib.contextmanager
def _atomic_folder(folder: Path) -> Iterator[Path]:
    """A hidden temporary folder beside ``folder`` that becomes ``folder`` when the block succeeds."""
    check_writable(folder.parent / f".{folder.name}.probe")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputPathError(f"{folder}: exists and is not an empty folder; choose a new folder for the meshes")
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        yield temporary
        if folder.exists():
            folder.rmdir()
        temporary.rename(folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def export_meshes_iter(
    fit: SmplFit,
    model: SmplModel,
    folder: str | Path,
    mesh_format: str = "ply",
    *,
    device: str = "cpu",
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, list[Path]]:
    """Write one mesh per frame into ``folder`` (see the module docstring); returns the files.

    Raises:
        MeshExportError: unknown format, or a model that does not match the fit.
        OutputPathError: ``folder`` is not empty or its parent cannot be written.
        CancelledError: cancelled (nothing is left behind).
    """
    if mesh_format not in MESH_FORMATS:
        raise MeshExportError(f"unknown mesh format {mesh_format!r}; use {' or '.join(MESH_FORMATS)}")
    folder = Path(folder)
    encode = ply_bytes if mesh_format == "ply" else obj_bytes
    faces = model.faces
    names = [f"frame_{t:06d}.{mesh_format}" for t in range(fit.num_frames)]
    with _atomic_folder(folder) as temporary:
        for start, vertices in posed_vertices(fit, model, device=device):
            for offset, frame_vertices in enumerate(vertices):
                check_cancelled(cancel)
                (temporary / names[start + offset]).write_bytes(encode(frame_vertices, faces))
            yield Progress("meshes", start + len(vertices), fit.num_frames, str(folder))
    return [folder / name for name in names]
