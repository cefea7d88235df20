"""Importers of other tools' calibrations: known answers from rigs we write in their format, and the
real Pose2Sim demo's Qualisys file against Pose2Sim's own conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.errors import FileFormatError, MissingFileError
from calibration.importers import guess_format, import_rig
from calibration.importers.easymocap import load_easymocap
from calibration.importers.panoptic import load_panoptic
from calibration.rig_toml import load_rig
from mocap.synthetic.cameras import make_rig


@pytest.fixture
def rig():
    return make_rig(3, np.random.default_rng(4), resolution=(1280, 720))


def same_cameras(ours, reference, atol=1e-9):
    assert ours.names == reference.names
    for a, b in zip(ours.cameras, reference.cameras, strict=True):
        assert a.image_size == b.image_size
        np.testing.assert_allclose(a.matrix, b.matrix, atol=atol)
        np.testing.assert_allclose(a.rotation, b.rotation, atol=atol)
        np.testing.assert_allclose(a.translation, b.translation, atol=atol)
        n = len(b.distortion)
        np.testing.assert_allclose(a.distortion[:n], b.distortion, atol=atol)


def qualisys_xml(rig) -> str:
    lines = ["<?xml version='1.0' encoding='ASCII'?>", "<calibration><cameras>"]
    for camera in rig.cameras:
        width, height = camera.image_size
        left, top = 10, 20  # a cropped video window: cx, cy are relative to it
        m = np.diag([1.0, -1.0, -1.0]) @ camera.rotation
        c = camera.center_world * 1000
        k = camera.matrix
        d = np.zeros(5)
        d[: len(camera.distortion)] = camera.distortion[:5]
        transform = " ".join(f'r{i + 1}{j + 1}="{m[i, j]}"' for i in range(3) for j in range(3))
        lines += [
            f'<camera active="1" serial="{camera.name}">',
            f'<fov_video left="{left}" top="{top}" right="{left + width - 1}" bottom="{top + height - 1}"/>',
            f'<transform {transform} x="{c[0]}" y="{c[1]}" z="{c[2]}"/>',
            f'<intrinsic focalLengthU="{k[0, 0] * 64}" focalLengthV="{k[1, 1] * 64}" '
            f'centerPointU="{(k[0, 2] + left) * 64}" centerPointV="{(k[1, 2] + top) * 64}" '
            f'radialDistortion1="{d[0]}" radialDistortion2="{d[1]}" radialDistortion3="{d[4]}" '
            f'tangentalDistortion1="{d[2]}" tangentalDistortion2="{d[3]}"/>',
            "</camera>",
        ]
    lines += ['<camera active="0" serial="off"/>', "</cameras></calibration>"]
    return "\n".join(lines)


def test_qualisys_known_answer(tmp_path, rig):
    path = tmp_path / "rig.qca.txt"
    path.write_text(qualisys_xml(rig))
    assert guess_format(path) == "qualisys"
    same_cameras(import_rig(path), rig)


def test_panoptic_known_answer_in_centimetres(tmp_path, rig):
    cameras = [
        {
            "name": c.name,
            "type": "hd" if i else "vga",
            "resolution": list(c.image_size),
            "K": c.matrix.tolist(),
            "distCoef": c.distortion.tolist(),
            "R": c.rotation.tolist(),
            "t": (c.translation[:, None] * 100).tolist(),
        }
        for i, c in enumerate(rig.cameras)
    ]
    path = tmp_path / "calibration_seq.json"
    path.write_text(json.dumps({"calibDataSource": "test", "cameras": cameras}))
    same_cameras(import_rig(path), rig)
    assert load_panoptic(path, types=["hd"]).names == rig.names[1:]


def write_easymocap(folder, rig, with_size=True):
    import cv2

    intri = cv2.FileStorage(str(folder / "intri.yml"), cv2.FILE_STORAGE_WRITE)
    extri = cv2.FileStorage(str(folder / "extri.yml"), cv2.FILE_STORAGE_WRITE)
    intri.write("names", list(rig.names))
    extri.write("names", list(rig.names))
    for c in rig.cameras:
        intri.write(f"K_{c.name}", c.matrix)
        intri.write(f"dist_{c.name}", c.distortion.reshape(1, -1))
        if with_size:
            intri.write(f"H_{c.name}", c.image_size[1])
            intri.write(f"W_{c.name}", c.image_size[0])
        extri.write(f"R_{c.name}", cv2.Rodrigues(c.rotation)[0])
        extri.write(f"Rot_{c.name}", c.rotation)
        extri.write(f"T_{c.name}", c.translation.reshape(3, 1))
    intri.release()
    extri.release()


def test_easymocap_known_answer(tmp_path, rig):
    write_easymocap(tmp_path, rig)
    same_cameras(import_rig(tmp_path, "easymocap"), rig)
    same_cameras(load_easymocap(tmp_path / "intri.yml"), rig)


def test_easymocap_without_size_needs_one(tmp_path, rig):
    write_easymocap(tmp_path, rig, with_size=False)
    with pytest.raises(FileFormatError, match="image-size"):
        load_easymocap(tmp_path)
    assert load_easymocap(tmp_path, image_size=(1280, 720)).cameras[0].image_size == (1280, 720)
    (tmp_path / "extri.yml").unlink()
    with pytest.raises(MissingFileError, match=r"extri\.yml"):
        load_easymocap(tmp_path)


def test_aniposelib_dump_reads_back(tmp_path, rig):
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup

    group = CameraGroup(
        [
            AniposeCamera(
                name=c.name,
                size=c.image_size,
                matrix=c.matrix,
                dist=c.distortion[:5],
                rvec=cv2_rodrigues(c.rotation),
                tvec=c.translation,
            )
            for c in rig.cameras
        ]
    )
    group.dump(str(tmp_path / "anipose.toml"))
    ours = load_rig(tmp_path / "anipose.toml")
    same_cameras(ours, rig, atol=1e-9)


def cv2_rodrigues(rotation):
    import cv2

    return cv2.Rodrigues(rotation)[0].ravel()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("a.qca.txt", "<calibration><cameras/></calibration>", "no active <camera>"),
        ("b.qca.txt", "not xml", "not a Qualisys XML"),
        ("c.json", '{"cameras": []}', "non-empty list"),
        ("d.json", '{"cameras": [{"name": "x", "resolution": [1, 1]}]}', "cameras[0].K: missing"),
        ("e.dat", "", "cannot tell the calibration format"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FileFormatError) as info:
        import_rig(path)
    assert words in str(info.value) and "\n" not in str(info.value) and name in str(info.value)
    with pytest.raises(MissingFileError):
        import_rig(tmp_path / "none.json")


@pytest.mark.realdata
def test_qualisys_matches_pose2sims_conversion(shared_data):
    calibration = shared_data / "pose2sim_demo" / "single_person" / "calibration" / "Calib.qca.txt"
    converted = shared_data / "pose2sim_demo" / "balancing_trial_reference" / "calibration_converted_by_pose2sim.toml"
    ours = import_rig(calibration, "qualisys")
    theirs = load_rig(converted)
    assert ours.names == tuple(n.replace("_", "") for n in theirs.names)  # cam01 vs Pose2Sim's cam_01
    for a, b in zip(ours.cameras, theirs.cameras, strict=True):
        assert a.image_size == b.image_size
        np.testing.assert_allclose(a.matrix, b.matrix, rtol=0, atol=1e-9)
        np.testing.assert_allclose(a.rotation, b.rotation, rtol=0, atol=1e-9)
        np.testing.assert_allclose(a.translation, b.translation, rtol=0, atol=1e-9)
        # Pose2Sim divides the distortion by 64 as well (and drops k3 = 0); we keep Qualisys's values,
        # which match the videos (see calibration.importers.qualisys)
        np.testing.assert_allclose(a.distortion[:4] / 64, b.distortion, rtol=0, atol=1e-12)
        assert a.distortion[4] == 0.0
