"""Review of a recorded take: loads it in a job, follows the playback frame, builds the views'
frames and fetches camera images off the GUI thread.

Loading (files, or generating and reconstructing the synthetic demo take) is one job on the
``review-load`` channel: opening another take while one loads drops the first answer. For each
frame, overlays and people are indexed out of the loaded arrays; when the take has images, the
images of that frame are decoded (or rendered) by a job on the ``review-images`` channel (older
requests are cancelled and their answers dropped), and the frame is shown once its images are
there, so overlays never sit on the picture of another frame.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore

from calibration.progress import CancelToken, Progress
from ui.controllers.display import REVIEW, DisplayController
from ui.controllers.playback import PlaybackController
from ui.jobs import JobRunner
from ui.media import Images
from ui.scene import SceneFrame, TileFrame
from ui.takes import TakeData, load_results_folder, load_session_take, synthetic_take

TRAIL_SECONDS = 2.0
Loader = Callable[[CancelToken], "TakeData | Generator[Progress, None, TakeData]"]


class ReviewController(QtCore.QObject):
    """Owns the reviewed take (see the module docstring).

    Signals:
        take_changed(object): a new :class:`~ui.takes.TakeData` is loaded (None: unloaded).
        loading_changed(bool): a load started or ended.
        error(str): a load or image job failed (readable line).
    """

    take_changed = QtCore.Signal(object)
    loading_changed = QtCore.Signal(bool)
    error = QtCore.Signal(str)

    def __init__(
        self,
        display: DisplayController,
        playback: PlaybackController,
        jobs: JobRunner,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._display = display
        self._playback = playback
        self._jobs = jobs
        self._take: TakeData | None = None
        self.trails_enabled = True
        self.images_enabled = True
        self.frames_shown = 0
        playback.frame_changed.connect(self.show_frame)

    @property
    def take(self) -> TakeData | None:
        return self._take

    @property
    def loading(self) -> bool:
        return self._jobs.running("review-load")

    # ------------------------------------------------------------------ loading

    def load(self, label: str, loader: Loader) -> None:
        """Load a take with ``loader`` (run in a job); the newest load wins."""
        self.loading_changed.emit(True)
        self._jobs.submit(
            "review-load",
            label,
            loader,
            on_result=self._loaded,
            on_error=self._load_failed,
            on_cancelled=lambda: self.loading_changed.emit(False),
            cancel_previous=True,
        )

    def open_results_folder(self, folder: str | Path) -> None:
        self.load(f"opening {folder}", lambda _cancel: load_results_folder(folder))

    def open_session_take(self, session_root: str | Path, take_name: str) -> None:
        self.load(f"opening take {take_name}", lambda _cancel: load_session_take(session_root, take_name))

    def open_synthetic(self, config: Any, title: str = "demo take") -> None:
        """Generate, reconstruct and show a synthetic take (``config``: a StudioConfig)."""
        self.load(f"making the {title}", lambda cancel: synthetic_take(config, title, cancel))

    def set_take(self, take: TakeData) -> None:
        """Show an already loaded take (tests, the processing controller's result)."""
        self._loaded(take)

    def _loaded(self, take: TakeData) -> None:
        if self._take is not None and self._take.images is not None and self._take.images is not take.images:
            old = self._take.images
            self._jobs.submit("review-close", "closing videos", lambda _c: old.close())
        self._take = take
        self.images_enabled = True
        self.loading_changed.emit(False)
        self._display.present_stage(REVIEW, take.stage)
        self._display.activate(REVIEW)
        self.take_changed.emit(take)
        self._playback.set_range(take.num_frames, take.fps)
        self.show_frame(self._playback.frame)

    def _load_failed(self, message: str) -> None:
        self.loading_changed.emit(False)
        self.error.emit(message)

    # ------------------------------------------------------------------ frames

    def scene_frame(self, frame: int, images: Images | None = None) -> SceneFrame:
        """The views' picture of frame ``frame`` of the loaded take (indexing only)."""
        take = self._take
        if take is None:
            return SceneFrame(frame, 0.0)
        tiles = []
        detections = take.detections
        for v in range(len(take.stage.cameras)):
            image = images[v] if images is not None and v < len(images) else None
            if detections is None:
                tiles.append(TileFrame(image=image, status=f"frame {frame}"))
                continue
            person = take.slot_person[frame, v] if take.slot_person is not None else None
            tiles.append(
                TileFrame(
                    image=image,
                    xy=detections.xy[frame, v],
                    score=detections.score[frame, v],
                    person=person,
                    status=f"frame {frame}",
                )
            )
        if take.poses is None:
            return SceneFrame(frame, frame / take.fps, tuple(tiles))
        ids = take.poses.person_id.astype(np.int64)
        real = ids >= 0
        trails: tuple[np.ndarray, ...] = ()
        if self.trails_enabled:
            start = max(0, frame - int(TRAIL_SECONDS * take.fps))
            trails = tuple(take.centres[start : frame + 1, p] for p in np.flatnonzero(real))
        return SceneFrame(frame, frame / take.fps, tuple(tiles), ids[real], take.poses.xyz[frame][real], trails)

    def show_frame(self, frame: int) -> None:
        """Present frame ``frame`` (after its images arrive, when the take has images)."""
        take = self._take
        if take is None or not 0 <= frame < take.num_frames:
            return
        provider = take.images
        if provider is None or not self.images_enabled:
            self._present(frame, None)
            return
        self._jobs.submit(
            "review-images",
            f"reading the images of frame {frame}",
            lambda cancel: provider.images(frame, cancel),
            on_result=lambda images: self._present(frame, images),
            on_error=self._image_failed,
            cancel_previous=True,
        )

    def _present(self, frame: int, images: Images | None) -> None:
        if self._take is None:
            return
        self._display.present_frame(REVIEW, self.scene_frame(frame, images))
        self.frames_shown += 1

    def _image_failed(self, message: str) -> None:
        # show the overlays without pictures, and say why once
        self.images_enabled = False
        self.error.emit(f"{message} (images are off for this take)")
        self._present(self._playback.frame, None)
