"""Synthetic calibration boards: board images rendered into the synthetic studio's virtual cameras.

The known answer of every calibration test. A take holds a rig (:func:`mocap.synthetic.cameras.make_rig`
at calibration scale), per camera a set of *intrinsic* board poses (board held close to that camera,
tilted, all over its image) and a sequence of *extrinsic* frames where the board stands in the
middle of the volume facing a pair of neighbouring cameras, seen by every camera at once.

Rendering is an exact inverse mapping: every output pixel (``supersample``² sub-pixels each) is
undistorted with the camera's own lens model (:meth:`calibration.camera.Camera.undistort_points`,
Newton-exact), its ray is intersected with the board plane, and the print's texture
(:meth:`calibration.boards.BoardSpec.texture`) is sampled there with ``cv2.remap``. Sub-pixels are
averaged (anti-aliasing), then the image is blurred (Gaussian, ``blur_sigma_px``), lit with the
print's black and white levels and given Gaussian sensor noise (``noise_std``), and quantised to
8 bits. The board is one-sided: seen from behind it is a plain grey card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.board_detection import BoardDetection, MediaDetections
from calibration.boards import BoardSpec
from calibration.camera import Camera
from calibration.files import ensure_folder, write_text_atomic
from calibration.rig import CameraRig
from calibration.rotations import rodrigues_to_matrix
from mocap.synthetic.cameras import make_rig

if TYPE_CHECKING:
    from calibration.bundle_adjustment import BoardObservations

#: Default target of the synthetic studio: a 7x5 ChArUco board of 10 cm squares.
DEFAULT_BOARD = BoardSpec(
    type="charuco", columns=7, rows=5, square_length_m=0.1, marker_length_m=0.075, dictionary="DICT_4X4_50"
)


class BoardStudioConfig(BaseModel):
    """Everything that defines a synthetic board take (seeded: the same config gives the same images)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Seed of every random choice.")
    num_cameras: int = Field(4, ge=1, le=32, description="Cameras on a ring around the volume.")
    resolution: tuple[int, int] = Field((640, 480), description="(width, height) of every camera, pixels.")
    lens: Literal["none", "mild", "strong"] = Field("mild", description="Lens distortion preset.")
    distance_m: float = Field(2.6, gt=0, description="Horizontal distance of the cameras from the centre.")
    height_m: float = Field(1.8, gt=0, description="Camera height above the floor.")
    volume_radius_m: float = Field(0.7, gt=0, description="Radius of the volume that fills each image.")
    volume_height_m: float = Field(2.0, gt=0, description="Height of that volume.")
    board: BoardSpec = Field(DEFAULT_BOARD, description="The target.")
    intrinsic_views: int = Field(12, ge=0, description="Close-up board poses per camera.")
    extrinsic_frames: int = Field(24, ge=0, description="Synchronized frames with the board in the volume.")
    blur_sigma_px: float = Field(0.6, ge=0, description="Gaussian blur of the optics, pixels.")
    noise_std: float = Field(2.0, ge=0, description="Sensor noise, grey levels (of 255).")
    supersample: int = Field(3, ge=1, le=8, description="Sub-pixels per pixel side for anti-aliasing.")
    pixels_per_square: int = Field(96, ge=8, description="Texture resolution of the print.")
    black_level: float = Field(30.0, ge=0, le=255, description="Grey level of the print's black.")
    white_level: float = Field(220.0, ge=0, le=255, description="Grey level of the print's white.")
    background_level: float = Field(110.0, ge=0, le=255, description="Grey level of the room.")


@dataclass(frozen=True, eq=False)
class SyntheticBoardTake:
    """A planned board take and its ground truth (images are rendered on demand).

    Attributes:
        config: what made it.
        rig: the exact cameras.
        intrinsic_poses: per camera (rig order), ``world_from_board`` (N_i, 4, 4) of its close-ups.
        extrinsic_poses: ``world_from_board`` (F, 4, 4) of the synchronized frames.
    """

    config: BoardStudioConfig
    rig: CameraRig
    intrinsic_poses: tuple[NDArray[np.float64], ...] = field(repr=False)
    extrinsic_poses: NDArray[np.float64] = field(repr=False)

    @property
    def board(self) -> BoardSpec:
        return self.config.board


def _pose(rotation: NDArray[np.float64], translation: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def board_corners_in_camera(
    camera: Camera, board: BoardSpec, world_from_board: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Exact pixels ``(K, 2)`` of every board corner and whether each is seen ``(K,)``.

    A corner is seen when the camera faces the print's front, the corner is in front of the camera
    and at least 3 px inside the image. Unseen corners are NaN.
    """
    points_world = board.object_points() @ world_from_board[:3, :3].T + world_from_board[:3, 3]
    pixels = camera.project(points_world)
    normal_world = world_from_board[:3, 2]  # board z points into the print
    facing = float(np.dot(normal_world, camera.center_world - world_from_board[:3, 3])) < 0
    width, height = camera.image_size
    with np.errstate(invalid="ignore"):
        inside = (pixels[:, 0] >= 3) & (pixels[:, 0] <= width - 4) & (pixels[:, 1] >= 3) & (pixels[:, 1] <= height - 4)
    seen = inside & facing
    pixels[~seen] = np.nan
    return pixels, seen


def _incidence_cos(camera: Camera, world_from_board: NDArray[np.float64], board: BoardSpec) -> float:
    centre = world_from_board[:3, :3] @ np.array([*np.array(board.size_m) / 2, 0.0]) + world_from_board[:3, 3]
    to_camera = camera.center_world - centre
    return float(-np.dot(world_from_board[:3, 2], to_camera) / np.linalg.norm(to_camera))


def _random_tilt(rng: np.random.Generator, max_tilt_deg: float, max_roll_deg: float) -> NDArray[np.float64]:
    axis_angle = rng.uniform(0, 2 * np.pi)
    tilt = np.radians(rng.uniform(0.3, 1.0) * max_tilt_deg)
    tilt_vec = tilt * np.array([np.cos(axis_angle), np.sin(axis_angle), 0.0])
    roll = np.radians(rng.uniform(-max_roll_deg, max_roll_deg))
    return rodrigues_to_matrix(tilt_vec) @ rodrigues_to_matrix(np.array([0.0, 0.0, roll]))


def plan_intrinsic_poses(camera: Camera, board: BoardSpec, count: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``count`` close-up poses ``world_from_board`` (count, 4, 4) spread over the camera's image.

    Board centres go to a jittered grid of image positions (so corners of the image are covered),
    the board fills 35-65 % of the image diagonal, tilted up to 45° and rolled up to 30°; each pose
    keeps the whole board inside the image.
    """
    width, height = camera.image_size
    focal = float(np.mean(camera.focal_lengths))
    board_diag = float(np.hypot(*board.size_m))
    centre_board = np.array([*np.array(board.size_m) / 2, 0.0])
    grid = max(1, int(np.ceil(np.sqrt(count))))
    poses: list[NDArray[np.float64]] = []
    attempts = 0
    while len(poses) < count:
        attempts += 1
        if attempts > 200 * max(count, 1):
            raise RuntimeError(f"{camera.name}: cannot place {count} board close-ups; enlarge the image or the board")
        cell = len(poses) % (grid * grid)
        gx, gy = (cell % grid + rng.uniform(0.1, 0.9)) / grid, (cell // grid + rng.uniform(0.1, 0.9)) / grid
        target = np.array([0.15 + 0.7 * gx, 0.15 + 0.7 * gy]) * np.array([width, height])
        fraction = rng.uniform(0.35, 0.65)
        depth = focal * board_diag / (fraction * np.hypot(width, height))
        ray = camera.undistort_points(target, normalized=True)
        centre_camera = depth * np.array([ray[0], ray[1], 1.0])
        camera_from_board_r = _random_tilt(rng, 45.0, 30.0)
        camera_from_board_t = centre_camera - camera_from_board_r @ centre_board
        world_r = camera.rotation.T @ camera_from_board_r
        world_t = camera.rotation.T @ (camera_from_board_t - camera.translation)
        pose = _pose(world_r, world_t)
        _, seen = board_corners_in_camera(camera, board, pose)
        if np.all(seen) and _incidence_cos(camera, pose, board) > 0.45:
            poses.append(pose)
    return np.array(poses).reshape(count, 4, 4)


def plan_extrinsic_poses(rig: CameraRig, board: BoardSpec, count: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``count`` poses ``world_from_board`` (count, 4, 4) in the volume, each facing two neighbouring cameras.

    Frame ``f`` faces the pair ``(f mod V, f + 1 mod V)`` of the ring (cameras in rig order around the
    ring), tilted up to 15° and rolled up to 40°; each pose is fully seen by both cameras of its pair.
    """
    names = rig.names
    n = len(names)
    centres = rig.centers_world
    centre_board = np.array([*np.array(board.size_m) / 2, 0.0])
    up = np.array([0.0, 0.0, 1.0])
    poses: list[NDArray[np.float64]] = []
    attempts = 0
    while len(poses) < count:
        attempts += 1
        if attempts > 500 * max(count, 1):
            raise RuntimeError("cannot place the board where two neighbouring cameras both see it; move them closer")
        i = len(poses) % n
        pair = [i, (i + 1) % n] if n > 1 else [0]
        # stand nearer the pair than the centre so the board is large in both images
        horizontal = np.mean(centres[pair, :2], axis=0)
        horizontal = horizontal / max(np.linalg.norm(horizontal), 1e-9)
        position = np.array([*(0.35 * horizontal + rng.normal(0.0, 0.12, 2)), rng.uniform(0.9, 1.5)])
        towards = sum((centres[k] - position) / np.linalg.norm(centres[k] - position) for k in pair)
        towards = towards / np.linalg.norm(towards)
        z_axis = -towards  # the print's z points away from its viewers
        x_axis = np.cross(up, z_axis)
        x_axis /= np.linalg.norm(x_axis)
        y_axis = np.cross(z_axis, x_axis)
        base = np.stack([x_axis, y_axis, z_axis], axis=1)
        rotation = base @ _random_tilt(rng, 15.0, 40.0)
        pose = _pose(rotation, position - rotation @ centre_board)
        ok = all(
            np.all(board_corners_in_camera(rig.cameras[k], board, pose)[1])
            and _incidence_cos(rig.cameras[k], pose, board) > 0.35
            for k in pair
        )
        if ok:
            poses.append(pose)
    return np.array(poses).reshape(count, 4, 4)


def generate_board_take(config: BoardStudioConfig) -> SyntheticBoardTake:
    """Plan a board take: the rig and every board pose (no images yet, see :func:`write_board_take`)."""
    rng = np.random.default_rng(config.seed)
    rig = make_rig(
        config.num_cameras,
        rng,
        distance_m=config.distance_m,
        height_m=config.height_m,
        volume_radius_m=config.volume_radius_m,
        volume_height_m=config.volume_height_m,
        resolution=config.resolution,
        distortion=config.lens,
    )
    intrinsic = tuple(plan_intrinsic_poses(cam, config.board, config.intrinsic_views, rng) for cam in rig.cameras)
    extrinsic = plan_extrinsic_poses(rig, config.board, config.extrinsic_frames, rng)
    return SyntheticBoardTake(config, rig, intrinsic, extrinsic)


def exact_bundle_problem(
    take: SyntheticBoardTake, close_ups: bool = True
) -> tuple[BoardObservations, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The take as a bundle-adjustment problem at the true parameters (every residual zero).

    Synchronized frames seen by two or more cameras and, with ``close_ups``, each camera's
    close-ups; a view counts where it sees at least 6 corners. Returns the observations (pixels
    zero: only their structure matters), cameras ``camera_from_reference`` (V, 4, 4) with the first
    camera as reference, boards ``reference_from_board`` (B, 4, 4) and lenses (V, 9) ``fx fy cx cy
    k1 k2 p1 p2 k3`` — what :func:`calibration.bundle_covariance.rotation_uncertainty` takes.
    """
    from calibration.bundle_adjustment import BoardObservations
    from calibration.extrinsics import invert_pose, make_pose

    cameras = take.rig.cameras
    camera_from_world = np.array([make_pose(c.rotation, c.translation) for c in cameras])
    views = [(pose, list(range(len(cameras)))) for pose in take.extrinsic_poses]
    if close_ups:
        views += [(pose, [c]) for c, poses in enumerate(take.intrinsic_poses) for pose in poses]
    rows: list[tuple[int, int, NDArray[np.int64]]] = []
    boards: list[NDArray[np.float64]] = []
    for pose, seeing in views:
        seen = [(c, board_corners_in_camera(cameras[c], take.board, pose)[1]) for c in seeing]
        seen = [(c, mask) for c, mask in seen if mask.sum() >= 6]
        if len(seen) < min(2, len(seeing)):
            continue
        rows.extend((c, len(boards), np.flatnonzero(mask)) for c, mask in seen)
        boards.append(camera_from_world[0] @ pose)
    points = take.board.object_points()
    observations = BoardObservations(
        np.concatenate([np.full(len(ids), c) for c, _, ids in rows]),
        np.concatenate([np.full(len(ids), b) for _, b, ids in rows]),
        np.concatenate([points[ids] for _, _, ids in rows]),
        np.zeros((sum(len(ids) for _, _, ids in rows), 2)),
    )
    lenses = np.array(
        [[*c.focal_lengths, *c.principal_point, *np.pad(c.distortion, (0, 5 - len(c.distortion)))] for c in cameras]
    )
    return observations, camera_from_world @ invert_pose(camera_from_world[0]), np.array(boards), lenses


class BoardRenderer:
    """Renders the board into one camera (rays are computed once per camera)."""

    def __init__(self, camera: Camera, config: BoardStudioConfig) -> None:
        from scipy.interpolate import RectBivariateSpline

        self.camera = camera
        self.config = config
        s = config.supersample
        width, height = camera.image_size
        # The exact (Newton) undistortion on a coarse grid, interpolated by bicubic splines: the lens
        # map is smooth, so this stays within 1e-4 px even for strong lenses and costs 1/64 of the work.
        step = 8.0
        grid_x = np.arange(-2 * step, width + 2 * step, step)
        grid_y = np.arange(-2 * step, height + 2 * step, step)
        coarse = camera.undistort_points(np.stack(np.meshgrid(grid_x, grid_y), axis=-1), normalized=True)
        if not np.all(np.isfinite(coarse)):
            raise ValueError(f"{camera.name}: lens model cannot be inverted over the whole image")
        # sub-pixel centres: pixel i spans [i - 0.5, i + 0.5]
        offsets = (np.arange(s) + 0.5) / s - 0.5
        xs = (np.arange(width)[:, None] + offsets[None, :]).ravel()
        ys = (np.arange(height)[:, None] + offsets[None, :]).ravel()
        rays = np.empty((len(ys), len(xs), 3))
        rays[..., 0] = RectBivariateSpline(grid_y, grid_x, coarse[..., 0])(ys, xs)
        rays[..., 1] = RectBivariateSpline(grid_y, grid_x, coarse[..., 1])(ys, xs)
        rays[..., 2] = 1.0
        self._rays = rays
        self._texture = config.board.texture(config.pixels_per_square).astype(np.float32)
        margin = 0.5 * config.board.square_length_m
        w_m, h_m = config.board.size_m
        edge = np.linspace(0.0, 1.0, 25)
        x0, x1, y0, y1 = -margin, w_m + margin, -margin, h_m + margin
        self._outline = np.concatenate(
            [
                np.stack([x0 + (x1 - x0) * edge, np.full_like(edge, y0), np.zeros_like(edge)], axis=-1),
                np.stack([x0 + (x1 - x0) * edge, np.full_like(edge, y1), np.zeros_like(edge)], axis=-1),
                np.stack([np.full_like(edge, x0), y0 + (y1 - y0) * edge, np.zeros_like(edge)], axis=-1),
                np.stack([np.full_like(edge, x1), y0 + (y1 - y0) * edge, np.zeros_like(edge)], axis=-1),
            ]
        )

    def _window(self, world_from_board: NDArray[np.float64]) -> tuple[slice, slice]:
        """Sub-pixel rows and columns that can show the card (the whole image if unsure)."""
        s = self.config.supersample
        width, height = self.camera.image_size
        outline = self.camera.project(self._outline @ world_from_board[:3, :3].T + world_from_board[:3, 3])
        if not np.all(np.isfinite(outline)):
            return slice(0, height * s), slice(0, width * s)
        (x_min, y_min), (x_max, y_max) = np.min(outline, axis=0), np.max(outline, axis=0)
        cols = slice(
            int(np.clip(np.floor(x_min - 2) * s, 0, width * s)), int(np.clip(np.ceil(x_max + 3) * s, 0, width * s))
        )
        rows = slice(
            int(np.clip(np.floor(y_min - 2) * s, 0, height * s)), int(np.clip(np.ceil(y_max + 3) * s, 0, height * s))
        )
        return rows, cols

    def render(self, world_from_board: NDArray[np.float64] | None, rng: np.random.Generator) -> NDArray[np.uint8]:
        """A grayscale image ``(H, W)`` uint8 of the board at ``world_from_board`` (None: no board)."""
        import cv2

        config, camera, board = self.config, self.camera, self.config.board
        s = config.supersample
        width, height = camera.image_size
        image = np.full((height, width), config.background_level, dtype=np.float32)
        if world_from_board is not None:
            rows, cols = self._window(world_from_board)
            rays = self._rays[rows, cols]
            rotation = camera.rotation @ world_from_board[:3, :3]  # camera_from_board
            translation = camera.rotation @ world_from_board[:3, 3] + camera.translation
            # board (x, y, 1) -> camera point is the homography [r1 r2 t]; its inverse maps a ray
            # (x, y, 1) to (board x, board y, 1) / depth, so a positive last entry means "in front".
            inverse = np.linalg.inv(np.column_stack([rotation[:, 0], rotation[:, 1], translation]))
            mapped = rays @ inverse.T
            with np.errstate(divide="ignore", invalid="ignore"):
                board_xy = mapped[..., :2] / mapped[..., 2:3]
            in_front = mapped[..., 2] > 0
            facing = (-rotation.T @ translation)[2] < 0  # camera on the print's front side
            pps = config.pixels_per_square
            margin = round(0.5 * pps)
            map_x = (margin - 0.5 + board_xy[..., 0] / board.square_length_m * pps).astype(np.float32)
            map_y = (margin - 0.5 + board_xy[..., 1] / board.square_length_m * pps).astype(np.float32)
            tex_h, tex_w = self._texture.shape
            on_card = in_front & (map_x >= -0.5) & (map_x <= tex_w - 0.5) & (map_y >= -0.5) & (map_y <= tex_h - 0.5)
            if facing:
                map_x[~on_card] = 0.0
                map_y[~on_card] = 0.0
                ink = cv2.remap(self._texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) / 255.0
            else:
                ink = np.full(on_card.shape, 0.45, dtype=np.float32)
            levels = np.where(
                on_card, config.black_level + (config.white_level - config.black_level) * ink, config.background_level
            ).astype(np.float32)
            h_px, w_px = (rows.stop - rows.start) // s, (cols.stop - cols.start) // s
            if h_px > 0 and w_px > 0:
                if s > 1:
                    levels = np.asarray(
                        cv2.resize(levels, (w_px, h_px), interpolation=cv2.INTER_AREA), dtype=np.float32
                    )
                image[rows.start // s : rows.start // s + h_px, cols.start // s : cols.start // s + w_px] = levels
        if config.blur_sigma_px > 0:
            image = np.asarray(cv2.GaussianBlur(image, (0, 0), config.blur_sigma_px), dtype=np.float32)
        if config.noise_std > 0:
            image = image + rng.normal(0.0, config.noise_std, image.shape).astype(np.float32)
        return np.clip(np.round(image), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class BoardTakeFiles:
    """Where :func:`write_board_take` put the images: one image folder per camera and kind."""

    board_path: Path
    intrinsic: dict[str, Path]
    extrinsic: dict[str, Path]


def write_board_take(take: SyntheticBoardTake, folder: str | Path) -> BoardTakeFiles:
    """Render every image of ``take`` as PNG files under ``folder`` and write its board TOML.

    Layout: ``folder/board.toml``, ``folder/intrinsic/<camera>/0000.png ...`` and
    ``folder/extrinsic/<camera>/0000.png ...`` (frame ``f`` of every camera shows the same moment).
    """
    import cv2
    import tomli_w

    from calibration.boards import board_to_dict

    folder = ensure_folder(folder)
    png_fast = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # writing speed over file size
    rng = np.random.default_rng(take.config.seed + 1)
    intrinsic: dict[str, Path] = {}
    extrinsic: dict[str, Path] = {}
    for index, camera in enumerate(take.rig.cameras):
        renderer = BoardRenderer(camera, take.config)
        if take.config.intrinsic_views:
            out = ensure_folder(folder / "intrinsic" / camera.name)
            for i, pose in enumerate(take.intrinsic_poses[index]):
                cv2.imwrite(str(out / f"{i:04d}.png"), renderer.render(pose, rng), png_fast)
            intrinsic[camera.name] = out
        if take.config.extrinsic_frames:
            out = ensure_folder(folder / "extrinsic" / camera.name)
            for f, pose in enumerate(take.extrinsic_poses):
                cv2.imwrite(str(out / f"{f:04d}.png"), renderer.render(pose, rng), png_fast)
            extrinsic[camera.name] = out
    board_path = write_text_atomic(folder / "board.toml", tomli_w.dumps(board_to_dict(take.board)))
    return BoardTakeFiles(board_path, intrinsic, extrinsic)


def synthetic_detections(
    take: SyntheticBoardTake, noise_px: float, rng: np.random.Generator, *, min_corners: int = 6
) -> tuple[dict[str, MediaDetections], dict[str, MediaDetections]]:
    """Board detections of ``take`` without rendering: exact corner pixels plus Gaussian noise.

    The known answer for the calibration maths alone (detection accuracy is tested on rendered
    images): every corner a camera sees (:func:`board_corners_in_camera`) is reported with
    independent noise of ``noise_px`` pixels per axis; views with fewer than ``min_corners`` corners
    are left out, as a detector would.

    Returns:
        (intrinsic, extrinsic): camera name -> its detections (close-ups, synchronized frames); the
        paths are ``synthetic/intrinsic/<camera>`` and ``synthetic/extrinsic/<camera>``.
    """
    out: tuple[dict[str, MediaDetections], dict[str, MediaDetections]] = ({}, {})
    for index, camera in enumerate(take.rig.cameras):
        for kind, poses, target in (
            ("intrinsic", take.intrinsic_poses[index], out[0]),
            ("extrinsic", take.extrinsic_poses, out[1]),
        ):
            found = []
            for frame, pose in enumerate(poses):
                pixels, seen = board_corners_in_camera(camera, take.board, pose)
                if seen.sum() < min_corners:
                    continue
                ids = np.flatnonzero(seen).astype(np.int32)
                noisy = pixels[seen] + rng.normal(0.0, noise_px, (len(ids), 2))
                found.append(BoardDetection(frame, ids, noisy))
            if len(poses):
                target[camera.name] = MediaDetections(
                    Path("synthetic") / kind / camera.name, camera.image_size, len(poses), tuple(found)
                )
    return out
