"""``mocap fit-smpl``: triangulated joints (poses3d.npz or a processed take) -> SMPL ``smpl.npz``.

One ``smpl.npz`` per person (AMASS-style, see :mod:`mocap.body.result`); with several people the
files are ``<stem>_person<ID>.npz`` beside ``--out``. Optionally a mesh per frame (``--meshes``)
and the posed SMPL skeleton through the BVH/FBX exporters (``--bvh``, ``--fbx``).

The SMPL model file is the user's own download (see :mod:`mocap.body.model_file`): ``--model``
names a file or a folder; without it the default folder is searched. The message for a missing
model says where SMPL is obtained and where to put it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mocap.errors import MocapError

if TYPE_CHECKING:
    from mocap.body.fitting import FitConfig
    from mocap.body.model_file import SmplModel
    from mocap.body.result import SmplFit

NAME = "fit-smpl"
HELP = "fit the SMPL body model (shape, pose per frame) to 3D poses; write smpl.npz, meshes, BVH/FBX"

log = logging.getLogger(__name__)


class FitSettingsError(MocapError, ValueError):
    """A command-line setting out of range (the message names the option)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="a poses3d.npz file, or a processed take folder")
    parser.add_argument(
        "--model", type=Path, help="SMPL model file (.pkl or .npz) or a folder holding one (default: $MOCAP_SMPL_DIR)"
    )
    parser.add_argument(
        "--gender", choices=("neutral", "male", "female"), help="model gender (default: from the file name)"
    )
    parser.add_argument("--out", type=Path, required=True, help="smpl.npz to write (one per person)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ... (default cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the fit's many small batched products gain little from more "
        "threads and slow down badly when the cores are busy)",
    )
    parser.add_argument("--person", type=int, action="append", help="person id to fit (repeatable; default: all)")
    parser.add_argument("--num-betas", type=int, default=10, help="shape coefficients to fit (default 10)")
    parser.add_argument("--gmm-prior", type=Path, help="GMM pose prior (SMPLify's gmm_08.pkl or an .npz)")
    parser.add_argument("--iterations", type=int, default=60, help="most optimisation steps (default 60)")
    parser.add_argument("--float64", action="store_true", help="double precision (slower; for checks)")
    parser.add_argument("--meshes", type=Path, help="new folder for one mesh per frame")
    parser.add_argument("--mesh-format", choices=("ply", "obj"), default="ply", help="mesh file format (default ply)")
    parser.add_argument("--bvh", type=Path, help="also export the posed SMPL skeleton as BVH")
    parser.add_argument("--fbx", type=Path, help="also export the posed SMPL skeleton as FBX")


def resolve_poses(path: Path) -> Path:
    """The poses3d.npz behind ``path``: the file, a take's last finished pose stage, or ``derived/poses3d.npz``.

    Raises:
        MissingFileError: nothing to read.
    """
    from mocap.errors import MissingFileError

    if path.is_file():
        return path
    if not path.is_dir():
        raise MissingFileError(f"{path}: no such file or folder; give a poses3d.npz or a processed take folder")
    if (path / "take.toml").is_file():
        from mocap.pipeline.run import final_poses_path
        from mocap.session.store import Take

        found = final_poses_path(Take.open(path))
        if found is not None:
            return found
    if (path / "derived" / "poses3d.npz").is_file():
        return path / "derived" / "poses3d.npz"
    raise MissingFileError(f"{path}: no 3D poses in this folder; run mocap process or mocap reconstruct first")


def _config(args: argparse.Namespace) -> FitConfig:
    from pydantic import ValidationError

    from mocap.body.fitting import FitConfig

    try:
        return FitConfig(
            num_betas=args.num_betas,
            body_iterations=args.iterations,
            dtype="float64" if args.float64 else "float32",
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"num_betas": "--num-betas", "body_iterations": "--iterations"}.get(str(first["loc"][-1]), "")
        raise FitSettingsError(f"{option}: {first['msg']}") from None


def run(args: argparse.Namespace) -> int:
    import torch

    from calibration.files import OutputPathError, check_writable
    from mocap.body.fitting import fit_smpl_iter
    from mocap.body.layer import resolve_device
    from mocap.body.model_file import find_model_file, load_smpl_model
    from mocap.body.priors import load_gmm_prior
    from mocap.cli_progress import run_with_bar
    from mocap.export.base import per_person_paths
    from mocap.poses3d import Poses3D

    config = _config(args)
    if args.threads < 1:
        raise FitSettingsError(f"--threads: must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    source = resolve_poses(args.input)
    poses = Poses3D.load(source)
    resolve_device(args.device)
    model = load_smpl_model(find_model_file(args.model, args.gender or "neutral"), gender=args.gender)
    gmm = load_gmm_prior(args.gmm_prior) if args.gmm_prior else None
    check_writable(args.out)
    for extra in (args.bvh, args.fbx):
        if extra is not None:
            check_writable(extra)
    if args.meshes is not None and args.meshes.exists() and (not args.meshes.is_dir() or any(args.meshes.iterdir())):
        raise OutputPathError(f"{args.meshes}: exists and is not an empty folder; choose a new folder for --meshes")
    fits = run_with_bar(fit_smpl_iter(poses, model, config, device=args.device, person_ids=args.person, gmm=gmm))
    paths = per_person_paths(args.out, [fit.person_id for fit in fits])
    print(f"SMPL fit of {source}: {poses.num_frames} frames at {poses.fps:g} fps")
    print(f"  model {model.source} ({model.gender}, {model.num_vertices} vertices)")
    for fit, path in zip(fits, paths, strict=True):
        fit.save(path)
        report = fit.report
        timing = f", {report.seconds:.1f} s on {report.device}" if report else ""
        print(
            f"  person {fit.person_id}: mean residual {100 * fit.mean_residual_m():.1f} cm, "
            f"{int(fit.observed.sum())}/{fit.num_frames} frames observed{timing} -> {path}"
        )
        residuals = fit.per_joint_residual_m()
        worst = sorted(residuals.items(), key=lambda item: -item[1])[:5]
        print("    largest median residuals: " + ", ".join(f"{name} {100 * value:.1f} cm" for name, value in worst))
    _write_extras(args, fits, model)
    return 0


def _write_extras(args: argparse.Namespace, fits: list[SmplFit], model: SmplModel) -> None:
    """Meshes and BVH/FBX of every fitted person."""
    from mocap.body.mesh import export_meshes_iter
    from mocap.body.result import skeleton_poses
    from mocap.cli_progress import run_with_bar
    from mocap.export import export_poses

    if args.meshes is not None:
        several = len(fits) > 1
        for fit in fits:
            folder = args.meshes / f"person{fit.person_id}" if several else args.meshes
            if several:
                args.meshes.mkdir(parents=True, exist_ok=True)
            files = run_with_bar(export_meshes_iter(fit, model, folder, args.mesh_format, device=args.device))
            print(f"  person {fit.person_id}: {len(files)} {args.mesh_format.upper()} meshes -> {folder}")
    for path, fmt in ((args.bvh, "bvh"), (args.fbx, "fbx")):
        if path is not None:
            for written in export_poses(skeleton_poses(fits), path, fmt):
                print(f"  SMPL skeleton {fmt.upper()} -> {written}")
