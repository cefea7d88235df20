"""The camera grid: one tile per camera with its image (or a plain background) and the 2D
keypoints drawn on top, coloured by person.

Views only draw: :meth:`CameraGridView.set_stage` and :meth:`CameraGridView.show_frame` store
what they are given and ask Qt for a repaint; the drawing happens in ``paintEvent`` (several
updates between two paints cost one paint). Keypoints are OpenCV pixels (pixel centres at
integers), so they are drawn half a pixel in from the image's top-left corner.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ui.colours import person_qcolor
from ui.scene import SceneFrame, Stage, TileFrame

_BACKGROUND = QtGui.QColor(24, 26, 30)
_PLAIN = QtGui.QColor(58, 62, 70)
_PLAIN_GRID = QtGui.QColor(70, 75, 84)
_TEXT = QtGui.QColor(235, 235, 235)
#: Width of skeleton lines and diameter of keypoint dots, screen pixels.
LINE_PX = 2.0
DOT_PX = 5.0


class CameraTile(QtWidgets.QWidget):
    """One camera: its picture and overlays (see the module docstring).

    Args:
        name: camera name (drawn in the corner).
        image_size: (width, height) of the camera in pixels (the drawing keeps its aspect).
        edges: skeleton edges, (a, b) joint index pairs.
    """

    def __init__(
        self,
        name: str,
        image_size: tuple[int, int],
        edges: tuple[tuple[int, int], ...],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.image_size = image_size
        self._edges = np.array(edges, dtype=np.int64).reshape(-1, 2)
        self._tile: TileFrame | None = None
        self._qimage: QtGui.QImage | None = None
        self._qimage_owner: np.ndarray | None = None
        self.paint_count = 0
        self.setMinimumSize(160, 120)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)

    @property
    def tile(self) -> TileFrame | None:
        """What the tile shows now."""
        return self._tile

    def set_frame(self, tile: TileFrame | None) -> None:
        """Store ``tile`` and schedule a repaint."""
        self._tile = tile
        self._qimage = None
        self._qimage_owner = None
        self.update()

    def _scaled_image(self, size: tuple[int, int]) -> QtGui.QImage | None:
        """The tile's image at ``size`` (width, height), made once per frame and tile size.

        OpenCV resizes (bilinear, outside the GIL) and the painter then only copies pixels:
        4x cheaper per paint than letting QPainter scale the 640x480 image, and smoother than
        its nearest-neighbour scaling.
        """
        tile = self._tile
        if tile is None or tile.image is None or size[0] < 1 or size[1] < 1:
            return None
        if self._qimage is None or (self._qimage.width(), self._qimage.height()) != size:
            import cv2

            image = np.ascontiguousarray(cv2.resize(tile.image, size, interpolation=cv2.INTER_LINEAR))
            # the QImage borrows the array's memory: keep the array alive with it
            self._qimage = QtGui.QImage(image.data, size[0], size[1], 3 * size[0], QtGui.QImage.Format.Format_BGR888)
            self._qimage_owner = image
        return self._qimage

    def image_rect(self) -> QtCore.QRectF:
        """Where the camera image sits in the widget (aspect kept, centred), widget pixels."""
        width, height = self.image_size
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QtCore.QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        self.paint_count += 1
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        target = self.image_rect()
        image = self._scaled_image((round(target.width()), round(target.height())))
        if image is not None:
            painter.drawImage(target.topLeft(), image)
        else:
            self._draw_plain(painter, target)
        tile = self._tile
        if tile is not None and tile.xy is not None:
            painter.save()
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            painter.setClipRect(target)
            scale = target.width() / self.image_size[0]
            painter.translate(target.topLeft())
            painter.scale(scale, scale)
            painter.translate(0.5, 0.5)  # OpenCV pixel centres are at integers
            self._draw_keypoints(painter, tile.xy, tile)
            painter.restore()
        self._draw_label(painter, tile)
        painter.end()

    def _draw_plain(self, painter: QtGui.QPainter, target: QtCore.QRectF) -> None:
        painter.fillRect(target, _PLAIN)
        painter.setPen(QtGui.QPen(_PLAIN_GRID, 1))
        for k in range(1, 8):
            x = target.left() + target.width() * k / 8
            y = target.top() + target.height() * k / 8
            painter.drawLine(QtCore.QLineF(x, target.top(), x, target.bottom()))
            painter.drawLine(QtCore.QLineF(target.left(), y, target.right(), y))

    def _draw_keypoints(self, painter: QtGui.QPainter, xy: np.ndarray, tile: TileFrame) -> None:
        score = tile.score if tile.score is not None else np.isfinite(xy[..., 0]).astype(np.float32)
        person = tile.person if tile.person is not None else np.full(len(xy), -1)
        present = np.isfinite(xy[..., 0]) & (score > 0)  # (S, J)
        # cosmetic pens: widths in screen pixels, the same at any tile size
        line_width = LINE_PX
        for s in range(len(xy)):
            if not present[s].any():
                continue
            colour = person_qcolor(int(person[s]))
            pen = QtGui.QPen(colour, line_width)
            pen.setCosmetic(True)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            if int(person[s]) < 0:
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            painter.setPen(pen)
            if len(self._edges):
                a, b = self._edges[:, 0], self._edges[:, 1]
                drawn = present[s, a] & present[s, b]
                lines = [
                    QtCore.QLineF(float(xy[s, i, 0]), float(xy[s, i, 1]), float(xy[s, j, 0]), float(xy[s, j, 1]))
                    for i, j in zip(a[drawn], b[drawn], strict=True)
                ]
                painter.drawLines(lines)
            dot = QtGui.QPen(colour.lighter(140), DOT_PX)
            dot.setCosmetic(True)
            dot.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            painter.setPen(dot)
            painter.drawPoints([QtCore.QPointF(float(x), float(y)) for x, y in xy[s][present[s]]])

    def _draw_label(self, painter: QtGui.QPainter, tile: TileFrame | None) -> None:
        text = self.name + (f"  ·  {tile.status}" if tile is not None and tile.status else "")
        metrics = painter.fontMetrics()
        box = QtCore.QRectF(4, 4, metrics.horizontalAdvance(text) + 10, metrics.height() + 4)
        painter.fillRect(box, QtGui.QColor(0, 0, 0, 150))
        painter.setPen(_TEXT)
        painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, text)


class CameraGridView(QtWidgets.QWidget):
    """Tiles of every camera of the stage, in rig order, on a near-square grid."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QtWidgets.QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._tiles: list[CameraTile] = []
        self._empty = QtWidgets.QLabel("no cameras: open a session, start the live view or load a take")
        self._empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty, 0, 0)

    @property
    def tiles(self) -> tuple[CameraTile, ...]:
        return tuple(self._tiles)

    @property
    def paint_count(self) -> int:
        """Paints of all tiles so far (a measure of the drawing rate)."""
        return sum(t.paint_count for t in self._tiles)

    def set_stage(self, stage: Stage) -> None:
        """Rebuild the tiles for the cameras of ``stage``."""
        for tile in self._tiles:
            self._layout.removeWidget(tile)
            tile.deleteLater()
        self._tiles = []
        self._empty.setVisible(not stage.cameras)
        columns = max(1, math.ceil(math.sqrt(len(stage.cameras))))
        for v, camera in enumerate(stage.cameras):
            tile = CameraTile(camera.name, camera.image_size, stage.edges, self)
            self._tiles.append(tile)
            self._layout.addWidget(tile, v // columns, v % columns)

    def show_frame(self, frame: SceneFrame) -> None:
        """Give every tile its part of ``frame`` (tiles beyond the frame's are cleared)."""
        for v, tile in enumerate(self._tiles):
            tile.set_frame(frame.tiles[v] if v < len(frame.tiles) else None)
