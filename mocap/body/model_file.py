"""SMPL model files the user supplies: the :class:`SmplModel` arrays, loading and locating them.

SMPL (Loper et al., SIGGRAPH Asia 2015) cannot be shipped with the studio: its licence requires each
user to register at https://smpl.is.tue.mpg.de and download the files themselves. Both official
forms are read:

* ``.pkl`` (``basicmodel_{neutral,m,f}_lbs_10_207_0_v1.x.0.pkl``, ``SMPL_{NEUTRAL,MALE,FEMALE}.pkl``):
  through :func:`mocap.body.safe_pickle.load_restricted_pickle`, which runs no code from the file;
* ``.npz`` with the same keys (plain arrays, loaded with ``allow_pickle=False``).

Keys read (the official layout; ``N`` vertices, ``J`` joints, ``S`` shape coefficients):

==================  ============  ==========================================================
key                 shape         meaning
==================  ============  ==========================================================
``v_template``      (N, 3)        rest-pose vertices of the mean shape, metres, SMPL frame
``shapedirs``       (N, 3, S)     shape blend shapes (one per beta)
``posedirs``        (N, 3, 9(J-1)) pose blend shapes (on ``R - I`` of every non-root joint)
``J_regressor``     (J, N)        joint locations from the rest vertices (sparse in .pkl)
``weights``         (N, J)        linear-blend-skinning weights
``kintree_table``   (2, J)        row 0: parent id of the joint in row 1 (root: -1 or 2^32-1)
``f``               (F, 3)        triangles (vertex indices)
==================  ============  ==========================================================

Two optional keys, not in the official files, name vertices that stand for detector keypoints on a
model of another topology (the official SMPL mesh uses :data:`mocap.body.keypoints.SMPL_VERTEX_KEYPOINTS`):
``keypoint_names (K,) str`` (canonical names such as ``nose``) and ``keypoint_vertices (K,) int``.

The SMPL frame of the model is Y up, X to the body's left, Z forward (the model's own frame); the
fitted global orientation maps it into the studio's Z-up world.

Default location of model files (used when no path is given): ``$MOCAP_SMPL_DIR`` or
``~/.local/share/mocap-studio/smpl`` (``$XDG_DATA_HOME`` honoured).
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import frozen
from mocap.body.safe_pickle import load_restricted_pickle
from mocap.errors import FileFormatError, MissingFileError, ShapeError

log = logging.getLogger(__name__)

Gender = Literal["neutral", "male", "female"]
GENDERS: tuple[Gender, ...] = ("neutral", "male", "female")

SMPL_URL = "https://smpl.is.tue.mpg.de"
_REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


@dataclass(frozen=True, eq=False)
class SmplModel:
    """The arrays of an SMPL-family model (read-only float64, see the module docstring).

    Attributes:
        v_template: (N, 3) rest vertices, metres.
        shapedirs: (N, 3, S) shape blend shapes.
        posedirs: (N, 3, 9 (J - 1)) pose blend shapes.
        j_regressor: (J, N) dense joint regressor.
        weights: (N, J) skinning weights.
        parents: (J,) parent joint per joint, -1 for the root; parents come before children.
        faces: (F, 3) int32 triangles.
        gender: ``"neutral"``, ``"male"`` or ``"female"``.
        source: the file it came from, if any.
        vertex_keypoints: canonical keypoint name -> vertex index, for a model whose topology is not
            the official one (None: the official table applies to 6890-vertex models).

    Raises:
        ShapeError: arrays that disagree in N or J, or a parent table that is not a tree in order.
    """

    v_template: NDArray[np.float64] = field(repr=False)
    shapedirs: NDArray[np.float64] = field(repr=False)
    posedirs: NDArray[np.float64] = field(repr=False)
    j_regressor: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    parents: NDArray[np.int64]
    faces: NDArray[np.int32] = field(repr=False)
    gender: Gender = "neutral"
    source: Path | None = None
    vertex_keypoints: Mapping[str, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        object.__setattr__(self, "v_template", frozen("v_template", self.v_template, ("N", 3), np.float64, sizes))
        object.__setattr__(self, "shapedirs", frozen("shapedirs", self.shapedirs, ("N", 3, "S"), np.float64, sizes))
        object.__setattr__(self, "weights", frozen("weights", self.weights, ("N", "J"), np.float64, sizes))
        object.__setattr__(self, "parents", frozen("parents", self.parents, ("J",), np.int64, sizes))
        object.__setattr__(self, "j_regressor", frozen("J_regressor", self.j_regressor, ("J", "N"), np.float64, sizes))
        num_pose = 9 * (sizes["J"] - 1)
        object.__setattr__(self, "posedirs", frozen("posedirs", self.posedirs, ("N", 3, num_pose), np.float64, sizes))
        object.__setattr__(self, "faces", frozen("f", self.faces, (None, 3), np.int32))
        parents = self.parents
        if parents[0] != -1 or np.any(parents[1:] < 0) or np.any(parents[1:] >= np.arange(1, len(parents))):
            raise ShapeError(
                "kintree_table", "a tree rooted at joint 0 with parents listed before children", str(parents)
            )
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= sizes["N"]):
            raise ShapeError("f", f"vertex indices in [0, {sizes['N']})", f"[{self.faces.min()}, {self.faces.max()}]")
        for name in ("v_template", "shapedirs", "posedirs", "j_regressor", "weights"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ShapeError(name, "finite numbers", "NaN or infinity")
        if self.gender not in GENDERS:
            raise ShapeError("gender", " or ".join(GENDERS), repr(self.gender))
        if self.vertex_keypoints is not None:
            table = {str(name): int(vertex) for name, vertex in self.vertex_keypoints.items()}
            bad = {name: vertex for name, vertex in table.items() if not 0 <= vertex < sizes["N"]}
            if bad:
                raise ShapeError("keypoint_vertices", f"vertex indices in [0, {sizes['N']})", str(bad))
            object.__setattr__(self, "vertex_keypoints", MappingProxyType(table))

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.parents.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[2])

    def with_num_betas(self, num_betas: int) -> SmplModel:
        """The same model using only its first ``num_betas`` shape coefficients.

        Raises:
            ShapeError: ``num_betas`` is below 1 or above what the file holds.
        """
        if not 1 <= num_betas <= self.num_betas:
            raise ShapeError("num_betas", f"1 to {self.num_betas} (the model file's shape space)", str(num_betas))
        return replace(self, shapedirs=self.shapedirs[:, :, :num_betas])

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The official-layout arrays (what :func:`save_model_npz` writes), plus the optional keypoint keys."""
        kintree = np.stack([self.parents, np.arange(self.num_joints)]).astype(np.int64)
        arrays: dict[str, NDArray[Any]] = {
            "v_template": self.v_template,
            "shapedirs": self.shapedirs,
            "posedirs": self.posedirs,
            "J_regressor": self.j_regressor,
            "weights": self.weights,
            "kintree_table": kintree,
            "f": self.faces.astype(np.uint32),
        }
        if self.vertex_keypoints is not None:
            arrays["keypoint_names"] = np.array(list(self.vertex_keypoints), dtype=str)
            arrays["keypoint_vertices"] = np.array(list(self.vertex_keypoints.values()), dtype=np.int64)
        return arrays


def infer_gender(path: str | Path) -> Gender | None:
    """Gender from an official file name (``basicmodel_f_...``, ``SMPL_MALE.pkl``), None if unknown."""
    tokens = re.split(r"[^a-z]+", Path(path).stem.lower())
    if "neutral" in tokens:
        return "neutral"
    if "female" in tokens or "f" in tokens:
        return "female"
    if "male" in tokens or "m" in tokens:
        return "male"
    return None


def _parents_from_kintree(path: Path, kintree: NDArray[Any]) -> NDArray[np.int64]:
    if kintree.ndim != 2 or kintree.shape[0] != 2:
        raise FileFormatError(path, "kintree_table", f"expected shape (2, J), got {kintree.shape}")
    ids = kintree[1].astype(np.int64)
    column = {int(joint): c for c, joint in enumerate(ids)}
    if sorted(column) != list(range(len(ids))):
        raise FileFormatError(path, "kintree_table", "row 1 must list joints 0..J-1")
    parents = np.full(len(ids), -1, dtype=np.int64)
    for c, joint in enumerate(ids):
        parent = int(np.int64(kintree[0, c]))
        parents[int(joint)] = parent if 0 <= parent < len(ids) and parent != int(joint) else -1
    return parents


def _read_arrays(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        loaded = load_restricted_pickle(path)
        if not isinstance(loaded, dict):
            raise FileFormatError(path, "", f"expected a dict of model arrays, got {type(loaded).__name__}")
        return loaded
    if suffix == ".npz":
        if not zipfile.is_zipfile(path):
            raise FileFormatError(path, "", "not a readable .npz file")
        out: dict[str, Any] = {}
        try:
            with np.load(path, allow_pickle=False) as data:
                for key in data.files:
                    try:
                        out[key] = data[key]
                    except ValueError:
                        if key in _REQUIRED:
                            raise FileFormatError(path, key, "holds pickled objects, which are not loaded") from None
                        log.debug("%s: skipping %s (pickled objects)", path, key)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FileFormatError(path, "", f"not a readable .npz file ({exc})") from None
        return out
    raise FileFormatError(path, "", "expected an SMPL model file ending in .pkl or .npz")


def _read_vertex_keypoints(path: Path, arrays: Mapping[str, Any]) -> dict[str, int] | None:
    if "keypoint_names" not in arrays and "keypoint_vertices" not in arrays:
        return None
    try:
        names = [str(n) for n in np.asarray(arrays["keypoint_names"]).reshape(-1)]
        vertices = np.asarray(arrays["keypoint_vertices"]).reshape(-1)
    except KeyError as exc:
        raise FileFormatError(
            path, str(exc.args[0]), "missing; keypoint_names and keypoint_vertices go together"
        ) from None
    if len(names) != len(vertices) or not np.issubdtype(vertices.dtype, np.integer):
        raise FileFormatError(path, "keypoint_vertices", f"expected {len(names)} vertex indices, got {vertices}")
    return dict(zip(names, (int(v) for v in vertices), strict=True))


def load_smpl_model(path: str | Path, *, gender: Gender | None = None, num_betas: int | None = None) -> SmplModel:
    """Read an SMPL model file (``.pkl`` or ``.npz``, see the module docstring).

    Args:
        path: the model file.
        gender: overrides the gender inferred from the file name (``neutral`` when neither tells).
        num_betas: keep only the first shape coefficients (default: all the file holds).

    Raises:
        MissingFileError: no such file (the message says where SMPL is obtained).
        UnsafePickleError: a ``.pkl`` names a global outside the whitelist.
        FileFormatError: a required key is missing or an array has the wrong shape, naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(missing_model_message(path))
    arrays = _read_arrays(path)
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise FileFormatError(path, missing[0], f"missing; an SMPL model file holds {', '.join(_REQUIRED)}")
    values: dict[str, NDArray[Any]] = {}
    for key in _REQUIRED:
        try:
            values[key] = np.asarray(arrays[key])
        except (TypeError, ValueError) as exc:
            raise FileFormatError(path, key, f"not an array ({exc})") from None
        if values[key].dtype.hasobject or not np.issubdtype(values[key].dtype, np.number):
            raise FileFormatError(path, key, f"expected numbers, got dtype {values[key].dtype}")
    vertex_keypoints = _read_vertex_keypoints(path, arrays)
    chosen = gender or infer_gender(path)
    if chosen is None:
        log.warning("%s: gender not in the file name; treating it as neutral (pass gender to choose)", path)
        chosen = "neutral"
    try:
        model = SmplModel(
            v_template=values["v_template"],
            shapedirs=values["shapedirs"],
            posedirs=values["posedirs"],
            j_regressor=values["J_regressor"],
            weights=values["weights"],
            parents=_parents_from_kintree(path, values["kintree_table"]),
            faces=values["f"].astype(np.int64),
            gender=chosen,
            source=path,
            vertex_keypoints=vertex_keypoints,
        )
    except ShapeError as exc:
        raise FileFormatError(path, exc.name, f"expected {exc.expected}, got {exc.actual}") from None
    return model if num_betas is None else model.with_num_betas(num_betas)


def save_model_npz(model: SmplModel, path: str | Path) -> Path:
    """Write a model in the official ``.npz`` layout (e.g. to convert a ``.pkl`` once), atomically."""
    from mocap.npz_io import write_npz

    return write_npz(path, model.arrays())


def default_model_dir() -> Path:
    """Where model files are looked for when none is named (see the module docstring)."""
    override = os.environ.get("MOCAP_SMPL_DIR")
    if override:
        return Path(override).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "mocap-studio" / "smpl"


def _candidate_names(gender: Gender) -> tuple[str, ...]:
    short = {"neutral": "neutral", "male": "m", "female": "f"}[gender]
    return (
        f"SMPL_{gender.upper()}.npz",
        f"SMPL_{gender.upper()}.pkl",
        f"basicmodel_{short}_lbs_10_207_0_v1.1.0.pkl",
        f"basicModel_{short}_lbs_10_207_0_v1.0.0.pkl",
    )


def missing_model_message(path: Path | None, gender: Gender = "neutral") -> str:
    """One line saying that no model file was found, where SMPL is obtained and where to put it."""
    where = f"{path}: no such SMPL model file" if path else f"no SMPL model file in {default_model_dir()}"
    return (
        f"{where}; SMPL cannot be shipped: register and download it at {SMPL_URL} (licence terms apply), "
        f"then put {_candidate_names(gender)[0]} or {_candidate_names(gender)[1]} in {default_model_dir()} "
        "(or set MOCAP_SMPL_DIR) or pass --model PATH"
    )


def find_model_file(path: str | Path | None = None, gender: Gender = "neutral") -> Path:
    """The model file to use: ``path`` when given, else the first official name in the default folder.

    Raises:
        MissingFileError: nothing found; the one-line message says where SMPL is obtained and where
            to put the file.
    """
    if path is not None:
        path = Path(path).expanduser()
        if path.is_dir():
            for name in _candidate_names(gender):
                if (path / name).is_file():
                    return path / name
            raise MissingFileError(missing_model_message(path / _candidate_names(gender)[0], gender))
        if not path.is_file():
            raise MissingFileError(missing_model_message(path, gender))
        return path
    folder = default_model_dir()
    for name in _candidate_names(gender):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise MissingFileError(missing_model_message(None, gender))
