"""Outputs of a fit: meshes per frame, the SMPL skeleton through BVH/FBX, and ``mocap fit-smpl``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from calibration.files import OutputPathError
from mocap.body.fitting import FitConfig, fit_smpl
from mocap.body.layer import SmplLayer
from mocap.body.mesh import MeshExportError, export_meshes_iter, posed_vertices
from mocap.body.model_file import save_model_npz
from mocap.body.result import SmplFit
from mocap.body.synthetic_model import SyntheticModel
from mocap.body.synthetic_motion import observe_keypoints, random_motion
from mocap.cli import main
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import get_layout

QUICK = FitConfig(global_iterations=2, body_iterations=4)


@pytest.fixture(scope="module")
def small_fit(synthetic: SyntheticModel) -> SmplFit:
    motion = random_motion(frames=3, seed=11)
    clean, _ = observe_keypoints(synthetic.model, motion, get_layout("smpl24"))
    return fit_smpl(Poses3D.from_points(clean[:, None], get_layout("smpl24"), motion.fps), synthetic.model, QUICK)[0]


def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = path.read_bytes()
    header, body = data.split(b"end_header\n", 1)
    lines = header.decode("ascii").splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    num_vertices = int(next(line.split()[2] for line in lines if line.startswith("element vertex")))
    num_faces = int(next(line.split()[2] for line in lines if line.startswith("element face")))
    vertices = np.frombuffer(body[: 12 * num_vertices], dtype="<f4").reshape(-1, 3)
    faces = np.frombuffer(body[12 * num_vertices :], dtype=[("n", "u1"), ("i", "<i4", (3,))])
    assert len(faces) == num_faces and np.all(faces["n"] == 3)
    return vertices, faces["i"]


def test_meshes_per_frame(small_fit: SmplFit, synthetic: SyntheticModel, tmp_path: Path) -> None:
    model = synthetic.model
    layer = SmplLayer(model, dtype=torch.float64)
    expected = layer(
        torch.tensor(small_fit.betas), torch.tensor(small_fit.poses.reshape(-1, 24, 3)), torch.tensor(small_fit.trans)
    ).vertices
    assert expected is not None
    files = list(_drain(export_meshes_iter(small_fit, model, tmp_path / "ply", "ply")))
    assert [f.name for f in files] == ["frame_000000.ply", "frame_000001.ply", "frame_000002.ply"]
    for t, path in enumerate(files):
        vertices, faces = read_ply(path)
        np.testing.assert_allclose(vertices, expected[t].numpy(), atol=1e-5)
        np.testing.assert_array_equal(faces, model.faces)
    obj = list(_drain(export_meshes_iter(small_fit, model, tmp_path / "obj", "obj")))[1]
    lines = obj.read_text().splitlines()
    v = np.array([[float(x) for x in line.split()[1:]] for line in lines if line.startswith("v ")])
    f = np.array([[int(x) for x in line.split()[1:]] for line in lines if line.startswith("f ")])
    np.testing.assert_allclose(v, expected[1].numpy(), atol=1e-5)
    np.testing.assert_array_equal(f - 1, model.faces)
    # the skinned mesh and the fit's joints agree (joints come from the same layer)
    first = next(posed_vertices(small_fit, model))[1]
    np.testing.assert_allclose(first, expected.numpy(), atol=1e-5)


def test_mesh_export_refuses_bad_targets(small_fit: SmplFit, synthetic: SyntheticModel, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.ply").write_text("x")
    with pytest.raises(OutputPathError, match="not an empty folder"):
        _drain(export_meshes_iter(small_fit, synthetic.model, busy))
    with pytest.raises(MeshExportError, match="ply or obj"):
        _drain(export_meshes_iter(small_fit, synthetic.model, tmp_path / "x", "stl"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]  # nothing half-written


def _drain(generator):  # type: ignore[no-untyped-def]
    from calibration.progress import drain

    return drain(generator)


def test_cli_fit_smpl(synthetic: SyntheticModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = get_layout("body_25b")
    motion = random_motion(frames=6, seed=12)
    clean, true_joints = observe_keypoints(synthetic.model, motion, layout)
    noisy = clean + np.random.default_rng(13).normal(0.0, 0.01, clean.shape)
    Poses3D.from_points(noisy[:, None], layout, motion.fps, person_id=[4]).save(tmp_path / "poses3d.npz")
    model = save_model_npz(synthetic.model, tmp_path / "SMPL_NEUTRAL.npz")
    out = tmp_path / "smpl.npz"
    extras = ["--meshes", tmp_path / "meshes", "--bvh", tmp_path / "smpl.bvh", "--fbx", tmp_path / "smpl.fbx"]
    args = [tmp_path / "poses3d.npz", "--model", model, "--out", out, "--device", "cpu", *extras]
    code = main(["fit-smpl", *map(str, args)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "person 4: mean residual" in stdout and "largest median residuals" in stdout
    fit = SmplFit.load(out)
    assert fit.person_id == 4 and fit.num_frames == 6
    assert np.linalg.norm(fit.joints - true_joints, axis=-1).mean() < 0.02
    assert len(list((tmp_path / "meshes").glob("frame_*.ply"))) == 6
    assert (tmp_path / "smpl.bvh").read_text().startswith("HIERARCHY")
    assert (tmp_path / "smpl.fbx").read_bytes().startswith(b"Kaydara FBX Binary")
    assert "body" in stderr  # the progress of the body stage


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCAP_SMPL_DIR", str(tmp_path / "models"))
    Poses3D.from_points(np.zeros((2, 1, 24, 3)), get_layout("smpl24"), 30.0).save(tmp_path / "poses3d.npz")
    code = main(["fit-smpl", str(tmp_path / "poses3d.npz"), "--out", str(tmp_path / "smpl.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("mocap: error:") and "smpl.is.tue.mpg.de" in err and str(tmp_path / "models") in err
    assert "\n" not in err
    code = main(["fit-smpl", str(tmp_path / "nothing.npz"), "--out", str(tmp_path / "smpl.npz")])
    assert code == 2 and "no such file" in capsys.readouterr().err
    code = main(["fit-smpl", str(tmp_path), "--out", str(tmp_path / "smpl.npz")])
    assert code == 2 and "no 3D poses" in capsys.readouterr().err
    args = [str(tmp_path / "poses3d.npz"), "--out", str(tmp_path / "smpl.npz"), "--num-betas", "0"]
    code = main(["fit-smpl", *args])
    assert code == 2 and "--num-betas" in capsys.readouterr().err
    assert not (tmp_path / "smpl.npz").exists()


def test_input_resolution(tmp_path: Path) -> None:
    from mocap.commands.fit_smpl import resolve_poses

    take = tmp_path / "take"
    (take / "derived").mkdir(parents=True)
    Poses3D.from_points(np.zeros((2, 1, 24, 3)), get_layout("smpl24"), 30.0).save(take / "derived" / "poses3d.npz")
    assert resolve_poses(take) == take / "derived" / "poses3d.npz"
    assert resolve_poses(take / "derived" / "poses3d.npz") == take / "derived" / "poses3d.npz"
