"""``mocap bench calibration``: our calibration against aniposelib's on the same board detections.

Both get the same corners (found once by our detector) and are timed from detections to a
calibrated rig: ours is :func:`calibration.calibrate.calibrate_detections_iter` (intrinsics per
camera, initial extrinsics, bundle adjustment); the peer is aniposelib's
``CameraGroup.calibrate_rows`` (``cv2.initCameraMatrix2D`` intrinsics, its initial extrinsics and
``bundle_adjust_iter``), given the close-ups and the synchronized frames as rows.

Cases: the synthetic studio (4 and 8 cameras, exact corners plus 0.2 px noise; scored against the
true rig) and, when the shared data is present, the real caliscope ChArUco videos (scored on the
triangulated board corners, :func:`calibration.evaluate.score_rig`, with the reference rig
alongside).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from typing import Any

NAME = "calibration"
HELP = "calibration from board detections: ours vs aniposelib (accuracy and wall time)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-real", action="store_true", help="skip the real caliscope case")
    parser.add_argument("--cameras", type=int, nargs="+", default=[4, 8], help="synthetic rig sizes (default 4 8)")


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
    """aniposelib's calibration from our detections; returns (rig, seconds)."""
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
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        group.calibrate_rows(rows, peer_board, verbose=False)
    seconds = time.perf_counter() - start
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
    return CameraRig(tuple(cameras)), seconds


def _peer(board: Any, names: list[str], intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> Any:
    """aniposelib's result, or (None, seconds) with a printed reason when it fails outright."""
    from calibration.errors import MocapError

    start = time.perf_counter()
    try:
        return run_aniposelib(board, names, intrinsic, extrinsic)
    except (MocapError, ValueError, np_linalg_error()) as exc:
        print(f"aniposelib failed: {str(exc).splitlines()[0]}")
        return None, time.perf_counter() - start


def np_linalg_error() -> type[Exception]:
    import numpy as np

    return np.linalg.LinAlgError


def run_ours(board: Any, intrinsic: dict[str, Any], extrinsic: dict[str, Any]) -> Any:
    from calibration.calibrate import calibrate_detections_iter
    from calibration.progress import drain

    start = time.perf_counter()
    result = drain(calibrate_detections_iter(board, extrinsic, intrinsic))
    return result.rig, time.perf_counter() - start


def _synthetic(num_cameras: int) -> None:
    import numpy as np

    from calibration.rig_compare import compare_rigs
    from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, synthetic_detections

    frames = 24 * num_cameras if num_cameras <= 4 else 20 * num_cameras
    config = BoardStudioConfig(
        num_cameras=num_cameras, resolution=(1280, 720), intrinsic_views=40, extrinsic_frames=frames, seed=0
    )
    take = generate_board_take(config)
    intrinsic, extrinsic = synthetic_detections(take, 0.2, np.random.default_rng(100))
    names = list(take.rig.names)
    rows = [("ours", *run_ours(take.board, intrinsic, extrinsic))]
    rows.append(("aniposelib", *_peer(take.board, names, intrinsic, extrinsic)))
    print(f"\nsynthetic, {num_cameras} cameras, 1280x720, 40 close-ups + {frames} frames, 0.2 px noise")
    print(f"{'method':12s} {'seconds':>8s} {'focal % max':>11s} {'centre mm max':>13s} {'rotation deg max':>16s}")
    for label, rig, seconds in rows:
        if rig is None:
            print(f"{label:12s} {seconds:8.2f} {'failed':>11s}")
            continue
        c = compare_rigs(rig, take.rig)
        print(
            f"{label:12s} {seconds:8.2f} {np.max(np.abs(c.focal_pct)):11.3f} {1000 * np.max(c.centre_m):13.2f} "
            f"{np.max(c.rotation_deg):16.3f}"
        )


def _real() -> None:
    import numpy as np

    from calibration.board_detection import BoardDetector, detect_in_media
    from calibration.evaluate import score_rig
    from calibration.importers import import_rig
    from calibration.progress import drain
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
    rows = [("ours", *run_ours(board, intrinsic, extrinsic))]
    rows.append(("aniposelib", *_peer(board, names, intrinsic, extrinsic)))
    rows.append(("reference", reference, float("nan")))
    print("\nreal caliscope ChArUco (4 USB cameras, 1280x720): triangulated board corners of the extrinsic video")
    print(f"{'method':12s} {'seconds':>8s} {'median px per camera':>28s} {'square err mm (median |e|, mean)':>34s}")
    for label, rig, seconds in rows:
        if rig is None:
            print(f"{label:12s} {seconds:8.2f} {'failed':>28s}")
            continue
        score = score_rig(rig, extrinsic, board)
        medians = " ".join(f"{v:6.3f}" for v in score.median_px().values())
        square = f"{1000 * np.median(np.abs(score.square_error_m)):.3f}, {1000 * np.mean(score.square_error_m):+.3f}"
        print(f"{label:12s} {seconds:8.2f} {medians:>28s} {square:>34s}")


def run(args: argparse.Namespace) -> int:
    print("calibration from the same board detections: ours vs aniposelib 0.8 (calibrate_rows + bundle_adjust_iter)")
    for num_cameras in args.cameras:
        _synthetic(num_cameras)
    if not args.no_real:
        _real()
    return 0
