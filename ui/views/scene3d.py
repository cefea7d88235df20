"""The 3D view (pyqtgraph OpenGL): floor grid, world axes, camera frusta, skeletons coloured by
person id with labels, and optional trails.

World frame Z up, metres (pyqtgraph's GL view is Z-up as well, so points go in unchanged).
Setting data only stores arrays in the GL items, which upload them when the widget paints; a
burst of updates between two paints costs one paint. Needs a real OpenGL context (an X display:
Xvfb in tests), not Qt's offscreen platform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph.opengl as gl
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

from ui.colours import person_qcolor, person_rgbf
from ui.scene import SceneFrame, Stage, body_centres

_FRUSTUM_RGBA = (0.95, 0.85, 0.25, 1.0)
_GRID_RGBA = (120, 125, 135, 110)
_TRAIL_ALPHA = 0.55
_CAMERA_TEXT = QtGui.QColor(250, 220, 90)


@dataclass
class _Label:
    """A text at a 3D point (world, metres), drawn over the GL scene."""

    pos: NDArray[np.float64]
    text: str
    colour: QtGui.QColor
    visible: bool = True


class Scene3DView(gl.GLViewWidget):
    """Draws the :class:`~ui.scene.Stage` and each :class:`~ui.scene.SceneFrame` (module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        # A native child window: otherwise Qt composes the whole main window through OpenGL on
        # every repaint of any widget (a progress bar, a camera tile). With software OpenGL
        # (Mesa llvmpipe, Xvfb) that stalled the event loop ~80 ms per repaint of a 1600x1000
        # window on two busy cores; as a native window only the 3D view itself goes through GL
        # (p99 14 ms, measured with ui.responsiveness.EventLoopProbe).
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_NativeWindow)
        self.setBackgroundColor((28, 30, 34))
        self.setCameraPosition(distance=11.0, elevation=28.0, azimuth=-60.0)
        self.paint_count = 0
        self._stage: Stage | None = None
        self.trails_visible = True

        grid = gl.GLGridItem()
        grid.setSize(12, 12)
        grid.setSpacing(0.5, 0.5)
        grid.setColor(_GRID_RGBA)
        self.addItem(grid)
        axes = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]], dtype=np.float64)
        axis_colours = np.array([[1, 0.2, 0.2, 1]] * 2 + [[0.2, 0.9, 0.2, 1]] * 2 + [[0.3, 0.5, 1, 1]] * 2)
        self.addItem(gl.GLLinePlotItem(pos=axes, color=axis_colours, width=3.0, mode="lines", antialias=True))

        # "translucent" blending keeps each person's colour as in the tiles and the plots
        # (pyqtgraph's default "additive" blending brightens overlapping bones and joints)
        self.frusta = gl.GLLinePlotItem(mode="lines", width=1.5, antialias=True, glOptions="translucent")
        self.bones = gl.GLLinePlotItem(mode="lines", width=3.0, antialias=True, glOptions="translucent")
        self.joints = gl.GLScatterPlotItem(size=7.0, pxMode=True, glOptions="translucent")
        self.trails = gl.GLLinePlotItem(mode="lines", width=2.0, antialias=True, glOptions="translucent")
        for item in (self.frusta, self.bones, self.joints, self.trails):
            item.setVisible(False)
            self.addItem(item)
        self._camera_labels: list[_Label] = []
        self._person_labels: list[_Label] = []

    # ------------------------------------------------------------------ data in

    def set_stage(self, stage: Stage) -> None:
        """Draw the cameras of ``stage`` (frusta and names) and forget the people of the last one."""
        self._stage = stage
        self._camera_labels = []
        if stage.cameras:
            segments = np.concatenate([c.frustum_world for c in stage.cameras]).reshape(-1, 3)
            self.frusta.setData(pos=segments, color=_FRUSTUM_RGBA)
            self.frusta.setVisible(True)
            for camera in stage.cameras:
                text = camera.name + (f"  {camera.error_px:.2f} px" if np.isfinite(camera.error_px) else "")
                self._camera_labels.append(_Label(camera.center_world, text, _CAMERA_TEXT))
            self._frame_cameras(np.stack([c.center_world for c in stage.cameras]))
        else:
            self.frusta.setVisible(False)
        self.show_frame(SceneFrame(index=0, time_s=0.0))

    def _frame_cameras(self, centres: NDArray[np.float64]) -> None:
        """Look at the middle of the rig from far enough to see every camera."""
        middle = centres.mean(axis=0)
        reach = float(np.max(np.linalg.norm(centres[:, :2] - middle[:2], axis=1), initial=1.0))
        self.setCameraPosition(pos=QtGui.QVector3D(float(middle[0]), float(middle[1]), 0.8), distance=1.9 * reach + 1.5)

    def set_trails_visible(self, visible: bool) -> None:
        self.trails_visible = visible
        self.trails.setVisible(visible and self.trails.pos is not None and len(self.trails.pos) > 0)

    def show_frame(self, frame: SceneFrame) -> None:
        """Store the people of ``frame`` in the GL items (drawn at the next paint)."""
        stage = self._stage
        edges = np.array(stage.edges if stage is not None else (), dtype=np.int64).reshape(-1, 2)
        poses = np.asarray(frame.poses, dtype=np.float64)
        ids = np.asarray(frame.person_ids, dtype=np.int64)
        self._set_bones(poses, ids, edges)
        self._set_joints(poses, ids)
        self._set_labels(poses, ids, stage.centre_joints if stage is not None else ())
        self._set_trails(frame.trails, ids)

    def paintGL(self, *args: object, **kwargs: object) -> None:
        self.paint_count += 1
        super().paintGL(*args, **kwargs)
        self._paint_labels()

    def _paint_labels(self) -> None:
        """Every label with one QPainter after the GL items.

        pyqtgraph's GLTextItem opens a QPainter per label; each one makes the GL context finish
        its work first, which with software OpenGL cost ~3 ms of waiting per label per frame.
        """
        labels = [label for label in (*self._camera_labels, *self._person_labels) if label.visible]
        if not labels:
            return
        rect = QtCore.QRectF(self.rect())
        to_viewport = QtGui.QMatrix4x4()
        to_viewport.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        model_view_projection = self.currentProjection() * self.currentModelView()
        painter = QtGui.QPainter(self)
        painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing | QtGui.QPainter.RenderHint.TextAntialiasing)
        font = painter.font()
        font.setPointSizeF(12.0)
        painter.setFont(font)
        for label in labels:
            x, y, z = (float(v) for v in label.pos)
            clip = model_view_projection.map(QtGui.QVector4D(x, y, z, 1.0))
            if clip.w() <= 0:  # behind the viewer
                continue
            ndc = QtGui.QVector3D(clip.x() / clip.w(), clip.y() / clip.w(), clip.z() / clip.w())
            point = to_viewport.map(ndc).toPointF()
            painter.setPen(label.colour)
            painter.drawText(point, label.text)
        painter.end()

    # ------------------------------------------------------------------ items

    def _set_bones(self, poses: NDArray[np.float64], ids: NDArray[np.int64], edges: NDArray[np.int64]) -> None:
        if poses.size == 0 or len(edges) == 0:
            self.bones.setVisible(False)
            return
        ends = poses[:, edges]  # (P, E, 2, 3)
        keep = np.all(np.isfinite(ends), axis=(2, 3))  # (P, E)
        colours = np.array([person_rgbf(int(i)) for i in ids]).reshape(-1, 4)  # (P, 4)
        segments = ends[keep].reshape(-1, 3)
        if len(segments) == 0:
            self.bones.setVisible(False)
            return
        per_segment = np.repeat(colours, keep.sum(axis=1), axis=0)  # (N, 4)
        self.bones.setData(pos=segments, color=np.repeat(per_segment, 2, axis=0))
        self.bones.setVisible(True)

    def _set_joints(self, poses: NDArray[np.float64], ids: NDArray[np.int64]) -> None:
        if poses.size == 0:
            self.joints.setVisible(False)
            return
        points = poses.reshape(-1, 3)
        colours = np.repeat(np.array([person_rgbf(int(i)) for i in ids]).reshape(-1, 4), poses.shape[1], axis=0)
        keep = np.all(np.isfinite(points), axis=1)
        if not keep.any():
            self.joints.setVisible(False)
            return
        self.joints.setData(pos=points[keep], color=colours[keep])
        self.joints.setVisible(True)

    def _set_labels(self, poses: NDArray[np.float64], ids: NDArray[np.int64], centre_joints: tuple[int, ...]) -> None:
        while len(self._person_labels) < len(ids):
            self._person_labels.append(_Label(np.zeros(3), "", _CAMERA_TEXT, visible=False))
        if len(ids):
            tops = np.where(np.isfinite(poses[..., 2]), poses[..., 2], -np.inf).max(axis=1)  # (P,)
            centres = body_centres(poses, centre_joints)
        for p, label in enumerate(self._person_labels):
            if p >= len(ids) or not np.isfinite(tops[p]) or not np.all(np.isfinite(centres[p, :2])):
                label.visible = False
                continue
            label.pos = np.array([centres[p, 0], centres[p, 1], tops[p] + 0.25])
            label.text = f"person {int(ids[p])}"
            label.colour = person_qcolor(int(ids[p]))
            label.visible = True

    def _set_trails(self, trails: tuple[NDArray[np.float64], ...], ids: NDArray[np.int64]) -> None:
        segments, colours = [], []
        for trail, person in zip(trails, ids, strict=False):
            path = np.asarray(trail, dtype=np.float64).reshape(-1, 3)
            if len(path) < 2:
                continue
            pairs = np.stack([path[:-1], path[1:]], axis=1)  # (N-1, 2, 3)
            pairs = pairs[np.all(np.isfinite(pairs), axis=(1, 2))]
            if len(pairs):
                segments.append(pairs.reshape(-1, 3))
                colours.append(np.tile(person_rgbf(int(person), _TRAIL_ALPHA), (2 * len(pairs), 1)))
        if not segments:
            self.trails.setData(pos=np.zeros((0, 3)))
            self.trails.setVisible(False)
            return
        self.trails.setData(pos=np.concatenate(segments), color=np.concatenate(colours))
        self.trails.setVisible(self.trails_visible)

    # ------------------------------------------------------------------ queries (tests, screenshots)

    def person_labels(self) -> list[str]:
        """Texts of the visible person labels."""
        return [label.text for label in self._person_labels if label.visible]

    def camera_labels(self) -> list[str]:
        return [label.text for label in self._camera_labels]
