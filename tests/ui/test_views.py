"""DisplayController + CameraGridView + Scene3DView: presenting a stage/frame updates the views,
and what they draw lands where it should (pixels checked in a grabbed tile)."""

from __future__ import annotations

import numpy as np
import pytest

from ui.colours import person_rgb
from ui.controllers.display import LIVE, REVIEW, DisplayController
from ui.scene import SceneFrame, TileFrame, frustum_segments, stage_from_rig
from ui.views.camera_grid import CameraGridView
from ui.views.scene3d import Scene3DView

pytestmark = pytest.mark.gui


@pytest.fixture
def views(qtbot):
    display = DisplayController()
    grid = CameraGridView()
    scene = Scene3DView()
    for view in (grid, scene):
        display.stage_changed.connect(view.set_stage)
        display.frame_changed.connect(view.show_frame)
        qtbot.addWidget(view)
        view.resize(480, 360)
        view.show()
    qtbot.waitExposed(scene)
    return display, grid, scene


def test_frusta_start_at_the_camera_centre_and_face_the_view_direction(small_synthetic):
    rig = small_synthetic.rig
    segments = frustum_segments(rig, depth_m=0.5)  # (V, 8, 2, 3)
    assert segments.shape == (len(rig), 8, 2, 3)
    for v, camera in enumerate(rig.cameras):
        np.testing.assert_allclose(segments[v, :4, 0], np.tile(camera.center_world, (4, 1)))
        far_camera = camera.world_to_camera(segments[v, :4, 1])
        np.testing.assert_allclose(far_camera[:, 2], 0.5, atol=1e-9)  # the image rectangle at depth 0.5 m
        corners = camera.project(segments[v, :4, 1])  # the far corners project to the image corners
        width, height = camera.image_size
        np.testing.assert_allclose(
            corners, [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], atol=1e-6
        )


def test_stage_builds_tiles_and_frusta_only_for_the_active_source(qtbot, views, small_synthetic):
    display, grid, scene = views
    stage = stage_from_rig(small_synthetic.rig, small_synthetic.layout, "t")
    display.present_stage(REVIEW, stage)
    assert grid.tiles == ()  # nothing active yet
    display.activate(REVIEW)
    assert [t.name for t in grid.tiles] == list(small_synthetic.rig.names)
    assert scene.frusta.visible() and len(scene.frusta.pos) == 16 * len(small_synthetic.rig)
    assert scene.camera_labels() == list(small_synthetic.rig.names)
    display.present_stage(LIVE, stage_from_rig(None, None, "live"))
    assert len(grid.tiles) == len(small_synthetic.rig)  # an inactive source does not reach the views
    display.activate(LIVE)
    assert grid.tiles == () and not scene.frusta.visible()


def test_overlay_is_drawn_at_the_keypoints_in_the_person_colour(qtbot, views, small_synthetic):
    display, grid, _scene = views
    stage = stage_from_rig(small_synthetic.rig, small_synthetic.layout, "t")
    display.present_stage(REVIEW, stage)
    display.activate(REVIEW)
    xy = np.full((2, stage.joint_names.__len__(), 2), np.nan, np.float32)
    score = np.zeros(xy.shape[:2], np.float32)
    xy[0, 0] = (80.0, 60.0)  # one keypoint of person 3 in the upper-left quarter
    score[0, 0] = 0.9
    xy[1, 1] = (240.0, 180.0)  # one of nobody's (-1) in the lower-right quarter
    score[1, 1] = 0.9
    image = np.zeros((240, 320, 3), np.uint8)
    tile = TileFrame(image=image, xy=xy, score=score, person=np.array([3, -1]), status="30 fps")
    before = grid.tiles[0].paint_count
    display.present_frame(REVIEW, SceneFrame(0, 0.0, (tile,)))
    qtbot.waitUntil(lambda: grid.tiles[0].paint_count > before, timeout=2000)
    assert grid.tiles[0].tile is tile and grid.tiles[1].tile is None
    widget = grid.tiles[0]
    grabbed = widget.grab().toImage()
    rect = widget.image_rect()
    scale = rect.width() / 320
    ratio = grabbed.width() / widget.width()

    def colour_at(x, y):
        px = (rect.left() + (x + 0.5) * scale) * ratio
        py = (rect.top() + (y + 0.5) * scale) * ratio
        c = grabbed.pixelColor(int(px), int(py))
        return np.array([c.red(), c.green(), c.blue()])

    person = np.array(person_rgb(3))
    lighter = colour_at(80, 60)
    assert np.linalg.norm(lighter - person) < np.linalg.norm(person) * 0.6  # the person's hue, lightened
    assert colour_at(80, 60).sum() > 150  # drawn over the black image
    assert colour_at(240, 180).std() < 25  # nobody's keypoint is grey
    assert colour_at(240, 180).sum() > 300
    assert colour_at(160, 120).sum() == 0  # the black image elsewhere


def test_people_bones_labels_and_trails_in_3d(qtbot, views, small_take):
    display, _grid, scene = views
    display.present_stage(REVIEW, small_take.stage)
    display.activate(REVIEW)
    poses = small_take.poses.xyz[10].astype(np.float64).copy()  # (P, J, 3)
    ids = small_take.poses.person_id.astype(np.int64)
    poses[0, 0] = np.nan  # a missing joint drops its bones only
    trail = small_take.centres[:11, 0]
    before = scene.paint_count
    display.present_frame(REVIEW, SceneFrame(10, 0.3, (), ids, poses, (trail, trail)))
    edges = np.array(small_take.stage.edges)
    ends = poses[:, edges]
    expected_segments = int(np.all(np.isfinite(ends), axis=(2, 3)).sum())
    assert len(scene.bones.pos) == 2 * expected_segments
    assert len(scene.joints.pos) == int(np.isfinite(poses[..., 0]).sum())
    assert sorted(scene.person_labels()) == [f"person {i}" for i in sorted(ids)]
    np.testing.assert_allclose(scene.bones.color[0], [c / 255 for c in person_rgb(int(ids[0]))] + [1.0])
    assert scene.trails.visible() and len(scene.trails.pos) == 2 * 2 * 10
    qtbot.waitUntil(lambda: scene.paint_count > before, timeout=3000)
    scene.set_trails_visible(False)
    assert not scene.trails.visible()
    display.present_frame(REVIEW, SceneFrame(11, 0.33))  # nobody
    assert not scene.bones.visible() and scene.person_labels() == []


def test_frusta_shrink_for_cameras_close_together(small_synthetic):
    from calibration.camera import Camera
    from calibration.rig import CameraRig
    from ui.scene import FRUSTUM_DEPTH_M, frustum_depth

    rig = small_synthetic.rig
    assert frustum_depth(rig) == FRUSTUM_DEPTH_M  # a studio ring: cameras metres apart
    middle = rig.centers_world.mean(axis=0)
    cameras = []
    for c in rig.cameras:  # the same cameras pulled towards their middle, 10 % of the distances: a desk rig
        centre = middle + 0.1 * (c.center_world - middle)
        cameras.append(
            Camera.from_rotation_matrix(c.name, c.image_size, c.matrix, c.distortion, c.rotation, -c.rotation @ centre)
        )
    close = CameraRig(tuple(cameras))
    centres = close.centers_world
    nearest = [np.min(np.linalg.norm(np.delete(centres, v, 0) - centres[v], axis=1)) for v in range(len(centres))]
    assert frustum_depth(close) == pytest.approx(0.4 * np.median(nearest)) and frustum_depth(close) < FRUSTUM_DEPTH_M
    stage = stage_from_rig(close, None, "desk")
    for camera, info in zip(close.cameras, stage.cameras, strict=True):
        centre, corner = info.frustum_world[0]
        depth_along_axis = (corner - centre) @ camera.rotation[2]  # the optical axis in the world
        assert depth_along_axis == pytest.approx(frustum_depth(close))
