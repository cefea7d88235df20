"""SMPL model files: the official .npz/.pkl layouts, the restricted unpickler, missing-file messages."""

from __future__ import annotations

import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from mocap.body.model_file import (
    SMPL_URL,
    find_model_file,
    infer_gender,
    load_smpl_model,
    save_model_npz,
)
from mocap.body.safe_pickle import UnsafePickleError, load_restricted_pickle
from mocap.body.synthetic_model import SyntheticModel
from mocap.errors import FileFormatError, MissingFileError


@pytest.fixture
def fake_chumpy(monkeypatch: pytest.MonkeyPatch) -> type:
    """A class pickled under the name ``chumpy.ch.Ch`` (chumpy itself is not installed or needed)."""

    class Ch:
        def __init__(self, value: np.ndarray) -> None:
            self.x = value

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    package = types.ModuleType("chumpy")
    module = types.ModuleType("chumpy.ch")
    module.Ch = Ch  # type: ignore[attr-defined]
    package.ch = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chumpy", package)
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    return Ch


def official_pickle(synthetic: SyntheticModel, chumpy: type, path: Path, protocol: int = 2) -> Path:
    """The synthetic model written the way the official files are: chumpy arrays, a sparse regressor."""
    arrays = synthetic.model.arrays()
    content: dict[str, Any] = {
        "v_template": chumpy(arrays["v_template"]),
        "shapedirs": chumpy(arrays["shapedirs"]),
        "posedirs": arrays["posedirs"],
        "J_regressor": sparse.csc_matrix(arrays["J_regressor"]),
        "weights": chumpy(arrays["weights"]),
        "kintree_table": np.where(arrays["kintree_table"] < 0, 2**32 - 1, arrays["kintree_table"]).astype(np.uint32),
        "f": arrays["f"],
        "bs_type": "lrotmin",
        "bs_style": "lbs",
    }
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=protocol)
    return path


OFFICIAL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def assert_same_model(loaded: Any, synthetic: SyntheticModel) -> None:
    for key in OFFICIAL_KEYS:
        np.testing.assert_array_equal(loaded.arrays()[key], synthetic.model.arrays()[key], err_msg=key)


def test_npz_round_trip(synthetic: SyntheticModel, tmp_path: Path) -> None:
    path = save_model_npz(synthetic.model, tmp_path / "SMPL_FEMALE.npz")
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {*OFFICIAL_KEYS, "keypoint_names", "keypoint_vertices"}
    loaded = load_smpl_model(path)
    assert loaded.gender == "female"
    assert_same_model(loaded, synthetic)
    assert loaded.vertex_keypoints == synthetic.vertex_keypoints
    assert load_smpl_model(path, num_betas=4).num_betas == 4


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_official_pickle_is_read(synthetic: SyntheticModel, fake_chumpy: type, tmp_path: Path, protocol: int) -> None:
    path = official_pickle(synthetic, fake_chumpy, tmp_path / "basicmodel_m_lbs_10_207_0_v1.1.0.pkl", protocol)
    loaded = load_smpl_model(path)
    assert loaded.gender == "male"
    assert_same_model(loaded, synthetic)


def test_pickle_with_another_global_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"refused global (posix|os|nt)\.system") as info:
        load_smpl_model(path)
    assert "\n" not in str(info.value)
    assert not marker.exists()
    # an allowed name used to smuggle something else in is refused too
    path.write_bytes(pickle.dumps(np.array(["a"], dtype=object), protocol=2))
    with pytest.raises(FileFormatError):
        load_restricted_pickle(path)


def test_missing_model_says_where_to_get_and_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCAP_SMPL_DIR", str(tmp_path / "smpl"))
    for call in (lambda: find_model_file(), lambda: load_smpl_model(tmp_path / "SMPL_NEUTRAL.pkl")):
        with pytest.raises(MissingFileError) as info:
            call()
        message = str(info.value)
        assert SMPL_URL in message
        assert str(tmp_path / "smpl") in message
        assert "SMPL_NEUTRAL" in message and "--model" in message
        assert "\n" not in message


def test_model_found_in_folder(synthetic: SyntheticModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCAP_SMPL_DIR", str(tmp_path))
    save_model_npz(synthetic.model, tmp_path / "SMPL_MALE.npz")
    assert find_model_file(gender="male") == tmp_path / "SMPL_MALE.npz"
    assert find_model_file(tmp_path, gender="male") == tmp_path / "SMPL_MALE.npz"
    with pytest.raises(MissingFileError):
        find_model_file(gender="female")


def test_bad_model_files(synthetic: SyntheticModel, tmp_path: Path) -> None:
    arrays = dict(synthetic.model.arrays())
    del arrays["weights"]
    np.savez(tmp_path / "no_weights.npz", allow_pickle=False, **arrays)
    with pytest.raises(FileFormatError, match="weights"):
        load_smpl_model(tmp_path / "no_weights.npz")
    arrays = dict(synthetic.model.arrays())
    arrays["posedirs"] = arrays["posedirs"][:, :, :10]
    np.savez(tmp_path / "short_posedirs.npz", allow_pickle=False, **arrays)
    with pytest.raises(FileFormatError, match="posedirs"):
        load_smpl_model(tmp_path / "short_posedirs.npz")
    (tmp_path / "garbage.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(FileFormatError, match=r"garbage\.pkl"):
        load_smpl_model(tmp_path / "garbage.pkl")
    (tmp_path / "model.obj").write_text("v 0 0 0\n")
    with pytest.raises(FileFormatError, match=r"\.pkl or \.npz"):
        load_smpl_model(tmp_path / "model.obj")


def test_gender_from_official_names() -> None:
    assert infer_gender("basicmodel_f_lbs_10_207_0_v1.1.0.pkl") == "female"
    assert infer_gender("basicModel_m_lbs_10_207_0_v1.0.0.pkl") == "male"
    assert infer_gender("basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl") == "neutral"
    assert infer_gender("SMPL_FEMALE.npz") == "female"
    assert infer_gender("my_body.npz") is None
