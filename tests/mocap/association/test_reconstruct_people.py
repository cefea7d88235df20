"""``mocap reconstruct --people N``: a multi-person take gets stable person ids in poses3d.npz."""

import numpy as np

from calibration.rig_toml import save_rig
from mocap.cli import main
from mocap.metrics import evaluate_people
from mocap.poses3d import Poses3D
from mocap.synthetic.studio import StudioConfig, generate_take


def test_reconstruct_several_people_writes_person_ids(tmp_path, capsys):
    take = generate_take(
        StudioConfig(num_cameras=5, num_people=3, num_frames=60, noise_px=2.0, false_positives_per_view=0.05, seed=2)
    )
    rig, npz, out = (
        save_rig(take.rig, tmp_path / "rig.toml"),
        take.detections.save(tmp_path / "k.npz"),
        tmp_path / "p.npz",
    )
    assert main(["reconstruct", "--rig", str(rig), "--detections", str(npz), "--out", str(out), "--people", "3"]) == 0
    assert "people found: 3 (ids 0, 1, 2)" in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as data:
        assert data["person_id"].tolist() == [0, 1, 2] and data["xyz"].shape == (60, 3, 17, 3)
    scores = evaluate_people(Poses3D.load(out), take.poses)
    assert scores.id_switches == 0 and scores.false_people == 0 and scores.pcp > 0.99


def test_people_must_be_positive(tmp_path, capsys):
    take = generate_take(StudioConfig(num_cameras=3, num_frames=5, seed=1))
    rig, npz = save_rig(take.rig, tmp_path / "rig.toml"), take.detections.save(tmp_path / "k.npz")
    args = ["reconstruct", "--rig", str(rig), "--detections", str(npz), "--out", str(tmp_path / "p.npz")]
    assert main([*args, "--people", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mocap: error: --people: must be at least 1, got 0" and not (tmp_path / "p.npz").exists()
