"""``mocap bench calibration``: our calibration against aniposelib's on the same board detections.

Both get the same corners (found once by our detector) and are timed from detections to a
calibrated rig: ours is :func:`calibration.calibrate.calibrate_detections_iter` (intrinsics per
camera, initial extrinsics, bundle adjustment); the peer is aniposelib's
``CameraGroup.calibrate_rows`` (``cv2.initCameraMatrix2D`` intrinsics, its initial extrinsics and
``bundle_adjust_iter``), given the close-ups and the synchronized frames as rows.

Ours runs in four modes: lenses held at their intrinsic calibration (``fixed``), lenses refined
jointly without a prior (``refined``), with the default Gaussian prior towards their calibration
(``prior``, :mod:`calibration.bundle_prior`) and with that prior's full information matrix
(``info``, ``BundleOptions.prior_correlations``).

Cases: the synthetic studio (4 and 8 cameras, exact corners plus 0.2 px noise; scored against the
true rig, with the Cramér-Rao bound of its camera rotations from :mod:`calibration.bundle_covariance`:
what no estimator can beat on the same corners; ``--seeds`` for several studios) and, when the
shared data is present, the real caliscope ChArUco videos, scored on the triangulated board corners
(:func:`calibration.evaluate.score_rig`) with the reference rig alongside:

* in-sample: calibrated on every synchronized frame and scored on the same frames. The median
  reprojection error of triangulated corners favours whoever has the most freedom to fit them
  (aniposelib's free 3D points), so it is printed but it is not the accuracy that matters;
* held-out (2-fold cross-validation): calibrated on the even frames and scored on the odd ones and
  the other way round (means of the two folds): the reprojection error of frames the calibration
  never saw, and the **board geometry** of the triangulated corners against the true board (every
  pairwise distance, the rigid and the similarity fit, the scale) — the 3D accuracy a motion
  capture needs, independent of any optimiser's cost. The reference rig was made from all frames
  (it saw the test frames), which only favours it.

Wall times are for one process on a shared machine; CPU seconds (``cpu``) are steadier under load.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable
from functools import partial
from typing import Any

NAME = "calibration"
HELP = "calibration from board detections: ours vs aniposelib (accuracy and wall time)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-real", action="store_true", help="skip the real caliscope case")
    parser.add_argument("--cameras", type=int, nargs="+", default=[4, 8], help="synthetic rig sizes (default 4 8)")
    parser.add_argument("--no-cv", action="store_true", help="real case: skip the held-out (cross-validation) table")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="synthetic studio seeds (rig, board poses; corner noise from seed 100 + seed); default 0",
    )


def _anipose_rows(found: Any, offset: int, peer_board: Any) -> list[dict[str, Any]]:
    """Our detections as aniposelib rows (its ``fill_points_rows`` adds the NaN-filled corner array)."""
    import numpy as np

    rows = [
        {
            "framenum": (offset, d.frame),
            "corners": d.corners_px.astype(np.float32).reshape(-1, 1, 2),
            "ids": d.ids.astype(np.int32).reshape(-1, 1),
        }
        for d in found.detections
    ]
    return list(peer_board.fill_points_rows(rows))


def run_aniposelib(board: Any, names: list[str], intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> Any:
    """aniposelib's calibration from our detections (its lens model: one focal length, k1, the
    principal point at the image centre; free 3D points in its bundle adjustment); returns the rig."""
    import numpy as np
    from aniposelib.boards import CharucoBoard
    from aniposelib.cameras import CameraGroup

    from calibration.camera import Camera
    from calibration.rig import CameraRig
    from calibration.rotations import rodrigues_to_matrix

    peer_board = CharucoBoard(
        board.columns,
        board.rows,
        square_length=board.square_length_m,
        marker_length=board.marker_length_m,
        marker_bits=int(board.dictionary.split("_")[1][0]),
        dict_size=int(board.dictionary.split("_")[-1]),
    )
    group = CameraGroup.from_names(names)
    for camera, name in zip(group.cameras, names, strict=True):
        camera.set_size(extrinsic[name].image_size)
    # close-ups get a frame key of their own camera (1 + index), so aniposelib never takes two
    # cameras' close-ups for one synchronized moment
    rows = []
    for index, n in enumerate(names):
        close_ups = _anipose_rows(intrinsic[n], 1 + index, peer_board) if n in intrinsic else []
        rows.append(_anipose_rows(extrinsic[n], 0, peer_board) + close_ups)
    with contextlib.redirect_stdout(io.StringIO()):
        group.calibrate_rows(rows, peer_board, verbose=False)
    cameras = [
        Camera.from_rotation_matrix(
            name,
            tuple(c.get_size()),
            np.asarray(c.get_camera_matrix()),
            np.asarray(c.get_distortions()).ravel(),
            rodrigues_to_matrix(np.asarray(c.get_rotation()).ravel()),
            np.asarray(c.get_translation()).ravel(),
        )
        for name, c in zip(names, group.cameras, strict=True)
    ]
    return CameraRig(tuple(cameras))


def _peer(board: Any, names: list[str], intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> Any:
    """aniposelib's rig, or None with a printed reason when it fails outright."""
    from calibration.errors import MocapError

    try:
        return run_aniposelib(board, names, intrinsic, extrinsic)
    except (MocapError, ValueError, np_linalg_error()) as exc:
        print(f"aniposelib failed: {str(exc).splitlines()[0]}")
        return None


def np_linalg_error() -> type[Exception]:
    import numpy as np

    return np.linalg.LinAlgError


#: Our modes: bundle adjustment options (calibration.bundle_adjustment.BundleOptions) by label.
OUR_MODES: dict[str, dict[str, Any]] = {
    "ours fixed": {"refine_intrinsics": False},
    "ours refined": {"refine_intrinsics": True, "prior_weight": 0.0},
    "ours prior": {},  # the default: refined with the prior
    "ours info": {"prior_correlations": True},  # the prior with the close-ups' full information matrix
}


def run_ours(board: Any, bundle: dict[str, Any], intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> Any:
    """Our calibration from the same detections, with bundle adjustment options ``bundle`` over the defaults."""
    from calibration.calibrate import CalibrationOptions, calibrate_detections_iter
    from calibration.progress import drain

    defaults = CalibrationOptions()
    options = defaults.model_copy(update={"bundle": defaults.bundle.model_copy(update=bundle)})
    return drain(calibrate_detections_iter(board, extrinsic, intrinsic, options=options)).rig


def _timed(method: Callable[..., Any] | None, *args: Any, given: Any = None) -> tuple[Any, float, float]:
    """``method(*args)`` (``given`` when the method is None), its wall and CPU seconds (this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = given if method is None else method(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _methods(board: Any, names: list[str]) -> dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]]:
    """Label -> ``method(intrinsic, extrinsic)`` returning a rig (None when it fails)."""
    methods: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
        label: partial(run_ours, board, bundle) for label, bundle in OUR_MODES.items()
    }
    methods["aniposelib"] = partial(_peer, board, names)
    return methods


def _synthetic(num_cameras: int, seed: int) -> dict[str, list[float]]:
    """One synthetic case; returns per method its maxima of focal % and centre mm, the maximum and the RMS
    over the cameras of the rotation error (deg), and the per-axis RMS of the corners (px)."""
    import numpy as np

    from calibration.rig_compare import compare_rigs
    from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, synthetic_detections

    frames = 24 * num_cameras if num_cameras <= 4 else 20 * num_cameras
    config = BoardStudioConfig(
        num_cameras=num_cameras, resolution=(1280, 720), intrinsic_views=40, extrinsic_frames=frames, seed=seed
    )
    take = generate_board_take(config)
    intrinsic, extrinsic = synthetic_detections(take, NOISE_PX, np.random.default_rng(100 + seed))
    names = list(take.rig.names)
    print(
        f"\nsynthetic, {num_cameras} cameras, seed {seed}, 1280x720, 40 close-ups + {frames} frames, "
        f"{NOISE_PX} px noise per axis"
    )
    header = f"{'focal % max':>11s} {'centre mm max':>13s} {'rotation deg max':>16s} {'rms deg':>7s} {'rms px':>7s}"
    print(f"{'method':13s} {'wall s':>7s} {'cpu s':>6s} {header}")
    out: dict[str, list[float]] = {}
    for label, method in _methods(take.board, names).items():
        rig, wall, cpu = _timed(method, intrinsic, extrinsic)
        if rig is None:
            print(f"{label:13s} {wall:7.2f} {cpu:6.2f} {'failed':>11s}")
            continue
        c = compare_rigs(rig, take.rig)
        rms = _rms_px(rig)
        out[label] = [
            float(np.max(np.abs(c.focal_pct))),
            1000 * float(np.max(c.centre_m)),
            float(np.max(c.rotation_deg)),
            float(np.sqrt(np.mean(c.rotation_deg**2))),
            rms,
        ]
        focal, centre, rotation, rotation_rms = out[label][:4]
        print(
            f"{label:13s} {wall:7.2f} {cpu:6.2f} {focal:11.3f} {centre:13.2f} {rotation:16.3f} {rotation_rms:7.3f} "
            f"{rms:7.3f}"
        )
    bound = _rotation_bound(take)
    median, p90 = bound.max_angle_quantiles()
    per_camera = float(np.sqrt(np.mean(bound.rotation_rms_deg**2)))
    principal = float(np.sqrt(np.mean(bound.principal_std_px**2)))
    print(
        f"Cramer-Rao bound (every corner, lenses and poses free): rotation error {per_camera:.3f} deg RMS per "
        f"camera, worst camera median {median:.3f} / 90th percentile {p90:.3f} deg; principal point "
        f"{principal:.2f} px std"
    )
    return out


def _rotation_bound(take: Any) -> Any:
    """The first-order covariance of the camera rotations (:mod:`calibration.bundle_covariance`) at
    the true rig, from every corner the calibration gets: close-ups and synchronized frames seen by
    two or more cameras, all nine lens terms unknown."""
    from calibration.bundle_covariance import rotation_uncertainty
    from mocap.synthetic.boards import exact_bundle_problem

    observations, cameras, boards, lenses = exact_bundle_problem(take)
    return rotation_uncertainty(observations, cameras, boards, lenses, NOISE_PX)


#: Corner noise of the synthetic cases, pixels per axis.
NOISE_PX = 0.2


def _rms_px(rig: Any) -> float:
    """Per-axis RMS (pixels) of the bundle adjustment's corner residuals, from our rig's report
    (its 2D RMS / sqrt 2, comparable with the injected noise per axis); NaN for other tools' rigs."""
    import math

    calibration = rig.metadata.get("calibration", {})
    return float(calibration.get("rms_px", math.nan)) / math.sqrt(2.0)


def _summary(num_cameras: int, seeds: list[int], results: list[dict[str, list[float]]]) -> None:
    """Worst and median over the seeds of each method's maxima."""
    import numpy as np

    print(f"\nsynthetic, {num_cameras} cameras, seeds {' '.join(map(str, seeds))}: worst (median) over the seeds")
    print(
        f"{'method':13s} {'focal % max':>14s} {'centre mm max':>14s} {'rotation deg max':>14s} "
        f"{'rotation deg rms':>16s} {'rms px':>14s}"
    )
    for label in results[0]:
        values = np.array([r[label] for r in results if label in r])
        text = " ".join(
            f"{np.max(values[:, k]):{w}.{d}f} ({np.median(values[:, k]):.{d}f})"
            for k, (w, d) in enumerate(((6, 3), (6, 2), (6, 3), (6, 3), (6, 3)))
        )
        print(f"{label:13s} {text}")


def _frames(found: Any, parity: int) -> Any:
    """``found`` with only its frames of one parity (0 even, 1 odd)."""
    from dataclasses import replace

    return replace(found, detections=tuple(d for d in found.detections if d.frame % 2 == parity))


def _geometry(score: Any) -> dict[str, float]:
    """The board-geometry summary of a score (NaN figures when no frame had enough corners)."""
    if score.geometry is None:
        return dict.fromkeys(("pair_median_mm", "rigid_median_mm", "shape_median_mm", "scale_error_pct"), float("nan"))
    return dict(score.geometry.summary())


def _score_line(medians: Any, geometry: dict[str, float]) -> str:
    """Per-camera medians (px) and a board-geometry summary (:meth:`BoardGeometry.summary`)."""
    text = " ".join(f"{v:5.3f}" for v in medians)
    return (
        f"{text:>23s} {geometry['pair_median_mm']:7.3f} {geometry['rigid_median_mm']:7.3f} "
        f"{geometry['shape_median_mm']:7.3f} {geometry['scale_error_pct']:+8.3f}"
    )


def _geometry_header(first: str) -> str:
    return (
        f"{'method':13s} {first} {'median px cam_0..3':>23s} {'pair mm':>7s} {'rigid mm':>7s} {'shape mm':>7s} "
        f"{'scale %':>8s}"
    )


def _held_out(methods: dict[str, Any], reference: Any, intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> None:
    """2-fold cross-validation over the synchronized frames (even/odd); prints the fold means."""
    import numpy as np

    from calibration.evaluate import score_rig
    from mocap.data_paths import caliscope_board

    board = caliscope_board()
    print("\nheld out: calibrated on the even frames, scored on the odd ones and back (mean of the two folds)")
    print(_geometry_header(f"{'cpu s':>6s}"))
    for label, method in [*methods.items(), ("reference*", None)]:
        scores, cpu = [], 0.0
        for fit in (0, 1):
            train = {n: _frames(f, fit) for n, f in extrinsic.items()}
            test = {n: _frames(f, 1 - fit) for n, f in extrinsic.items()}
            rig, _, seconds = _timed(method, intrinsic, train, given=reference)
            cpu += seconds
            if rig is not None:
                scores.append(score_rig(rig, test, board))
        if len(scores) < 2:
            print(f"{label:13s} {'failed':>6s}")
            continue
        medians = np.mean([list(s.median_px().values()) for s in scores], axis=0)
        folds = [_geometry(s) for s in scores]
        summary = {k: float(np.mean([f[k] for f in folds])) for k in folds[0]}
        print(f"{label:13s} {cpu / 2:6.2f} {_score_line(medians, summary)}")
    print("(* the reference was made from all frames, the test frames included)")


def _real(cross_validate: bool) -> None:
    from calibration.board_detection import BoardDetector, detect_in_media
    from calibration.evaluate import score_rig
    from calibration.importers import import_rig
    from calibration.progress import drain
    from calibration.rig_compare import relative_pose_errors, relative_view_errors
    from mocap.data_paths import caliscope_board, shared_data_dir

    data = shared_data_dir()
    root = None if data is None else data / "caliscope_charuco"
    if root is None or not root.is_dir():
        print("\nreal caliscope case skipped: ../shared/data/caliscope_charuco is absent")
        return
    board = caliscope_board()
    detector = BoardDetector(board)
    names = [f"cam_{i}" for i in range(4)]
    extrinsic = {
        n: drain(detect_in_media(root / f"post_optimization/calibration/extrinsic/{n}.mp4", board, detector=detector))
        for n in names
    }
    intrinsic = {
        n: drain(
            detect_in_media(root / f"prerecorded_calibration/calibration/intrinsic/{n}.mp4", board, detector=detector)
        )
        for n in names
    }
    reference = import_rig(root / "post_optimization" / "camera_array.toml", "caliscope")
    methods = _methods(board, names)
    print("\nreal caliscope ChArUco (4 USB cameras, 1280x720): triangulated board corners of the extrinsic video")
    print("in sample: calibrated on every synchronized frame, scored on the same frames")
    print(_geometry_header(f"{'wall s':>7s} {'cpu s':>6s}"))
    rigs: dict[str, Any] = {}
    for label, method in [*methods.items(), ("reference", None)]:
        rig, wall, cpu = _timed(method, intrinsic, extrinsic, given=reference)
        if rig is None:
            print(f"{label:13s} {wall:7.2f} {cpu:6.2f} {'failed':>23s}")
            continue
        rigs[label] = rig
        times = f"{wall:7.2f} {cpu:6.2f}" if method is not None else f"{'':7s} {'':6s}"
        score = score_rig(rig, extrinsic, board)
        print(f"{label:13s} {times} {_score_line(score.median_px().values(), _geometry(score))}")
    print(
        "(pair: median |error| of every corner-to-corner distance; rigid / shape: median per-frame RMS from the true "
        "board fitted rigidly / with a scale; scale: mean scale of that fit minus 1)"
    )
    print(
        "\nrelative poses against the reference, per camera pair: rotation deg (of the optical axes / of the views "
        "through the image centres), baseline length mm, baseline direction deg"
    )
    for label in ("ours fixed", "ours prior", "aniposelib"):
        if label in rigs:
            pairs = relative_pose_errors(rigs[label], reference)
            views = relative_view_errors(rigs[label], reference)
            text = "  ".join(
                f"{a[-1]}-{b[-1]} {r:4.2f}/{v:4.2f} {1000 * d:+4.0f} {t:4.2f}"
                for (a, b, r, d, t), (_, _, v) in zip(pairs, views, strict=True)
            )
            print(f"{label:13s} {text}")
    if cross_validate:
        _held_out(methods, reference, intrinsic, extrinsic)


def run(args: argparse.Namespace) -> int:
    print("calibration from the same board detections: ours vs aniposelib 0.8 (calibrate_rows + bundle_adjust_iter)")
    for num_cameras in args.cameras:
        results = [_synthetic(num_cameras, seed) for seed in args.seeds]
        if len(results) > 1:
            _summary(num_cameras, args.seeds, results)
    if not args.no_real:
        _real(not args.no_cv)
    return 0
