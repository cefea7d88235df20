"""Stage results of a take, cached under ``derived/<stage>/`` by key (DESIGN.md section 4).

A stage's key (:func:`mocap.session.provenance.stage_key`) hashes its name, its config, the keys
of its inputs and the package version; the keys chain, so they are known before any data is
loaded and a change upstream invalidates everything after it. A stage's result is reused when
its manifest holds the same key and every output file is intact (size and sha256); otherwise the
stage runs again. Outputs are written atomically and the manifest last, so an interrupted run
leaves either a complete stage or none, and the next run resumes at the first incomplete stage.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from calibration.files import ensure_folder
from mocap.errors import FileFormatError
from mocap.session.provenance import (
    MANIFEST_NAME,
    StageManifest,
    code_version,
    config_hash,
    now_iso,
    outputs_intact,
    read_manifest,
    record_outputs,
    stage_key,
    write_manifest,
)
from mocap.session.store import Take

log = logging.getLogger(__name__)


def media_key(take: Take) -> str:
    """A key of the take's media: camera names, video files (name, size, mtime) and the frame map.

    File sizes and modification times stand in for content hashes: hashing minutes of video on
    every run would cost more than the cache saves, and replacing a video changes both.
    """
    digest = hashlib.sha256()
    for entry in take.info.cameras:
        video = take.root / entry.video
        stat = video.stat() if video.is_file() else None
        digest.update(
            f"{entry.name}|{entry.video}|{stat.st_size if stat else -1}|{stat.st_mtime_ns if stat else -1}|"
            f"{entry.frames}|{entry.size}\n".encode()
        )
    digest.update(np.ascontiguousarray(take.frame_map()).tobytes())
    return digest.hexdigest()


def rig_key(text: str) -> str:
    """The key of a rig file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StageCache:
    """The ``derived/`` folder of one take: where each stage's outputs and manifest live."""

    def __init__(self, take: Take) -> None:
        self.take = take

    def folder(self, stage: str) -> Path:
        """``derived/<stage>/`` (not created)."""
        return self.take.derived_dir / stage

    def manifest(self, stage: str) -> StageManifest | None:
        """The stage's manifest, or None when it never finished (or the manifest is unreadable)."""
        path = self.folder(stage) / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            return read_manifest(path)
        except FileFormatError as exc:
            log.warning("%s; the stage will run again", exc)
            return None

    def valid(self, stage: str, key: str) -> StageManifest | None:
        """The manifest when the stage finished with ``key`` and its outputs are intact, else None."""
        manifest = self.manifest(stage)
        if manifest is None or manifest.key != key:
            return None
        if not outputs_intact(self.take.root, manifest):
            log.warning("%s: outputs of stage %s changed or are missing; running it again", self.take.root, stage)
            return None
        return manifest

    def prepare(self, stage: str) -> Path:
        """Create ``derived/<stage>/`` and remove its manifest, so a run cut short is never taken as done."""
        folder = ensure_folder(self.folder(stage))
        (folder / MANIFEST_NAME).unlink(missing_ok=True)
        return folder

    def commit(
        self,
        stage: str,
        config: Mapping[str, Any],
        inputs: Mapping[str, str],
        files: Sequence[Path],
        seconds: float,
    ) -> StageManifest:
        """Record a finished stage: hash its ``files`` and write the manifest (atomically, last)."""
        manifest = StageManifest(
            stage=stage,
            key=stage_key(stage, config, inputs),
            config_hash=config_hash(config),
            code_version=code_version(),
            created=now_iso(),
            seconds=seconds,
            config=dict(config),
            inputs=dict(inputs),
            outputs=record_outputs(self.take.root, list(files)),
        )
        write_manifest(self.folder(stage) / MANIFEST_NAME, manifest)
        return manifest
