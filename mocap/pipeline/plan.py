"""What processing a take would do: every stage's cache key, and which stages run or are reused.

Keys chain through the stages (:mod:`mocap.pipeline.cache`), so the plan is known before any data
is read: ``mocap process`` runs it (:func:`mocap.pipeline.run.run_take_iter`), the GUI can show it
(which results are up to date for the current settings) without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from calibration.rig import CameraRig
from calibration.rig_toml import rig_to_toml
from mocap.errors import MismatchError, MocapError
from mocap.pipeline.cache import StageCache, media_key, rig_key
from mocap.pipeline.config import STAGES, PipelineConfig
from mocap.session.provenance import StageManifest, stage_key
from mocap.session.store import Take


class StageNotCachedError(MocapError, LookupError):
    """A stage left out of ``--stages`` has no up-to-date cached result to build on."""


def check_stages(stages: Sequence[str] | None) -> tuple[str, ...]:
    """The selected stages in pipeline order (None: all).

    Raises:
        MocapError: an unknown stage name (lists the known ones).
    """
    if stages is None:
        return STAGES
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise MocapError(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
    return tuple(s for s in STAGES if s in stages)


@dataclass(frozen=True, eq=False)
class TakePlan:
    """The plan of one run.

    Attributes:
        take: the take.
        config: the settings.
        rig: the calibrated cameras of the take's cameras, in take order.
        camera_names: the rig's name of each camera of the take (take order).
        keys: stage -> cache key.
        inputs: stage -> {input name: key} (what the key was made from, besides the config).
        needed: the stages this run goes through (up to the last selected one), in order.
        cached: stage -> manifest of its reusable result (only stages with one).
        runs: the stages that will be computed.
    """

    take: Take
    config: PipelineConfig
    rig: CameraRig = field(repr=False)
    camera_names: tuple[str, ...]
    keys: Mapping[str, str]
    inputs: Mapping[str, Mapping[str, str]]
    needed: tuple[str, ...]
    cached: Mapping[str, StageManifest] = field(repr=False)
    runs: tuple[str, ...]

    def state(self, stage: str) -> str:
        """``"run"``, ``"cached"`` or ``"not needed"`` for ``stage``."""
        if stage in self.runs:
            return "run"
        return "cached" if stage in self.needed else "not needed"


def _rig_for_take(take: Take, rig: CameraRig) -> tuple[CameraRig, tuple[str, ...]]:
    """The rig restricted to the take's cameras and the rig name of each take camera."""
    from mocap.detection.run import match_camera_names

    names = match_camera_names(take.camera_names, rig.names)
    if len(names) < 2:
        raise MismatchError(f"{take.root}: only {len(names)} camera; 3D needs at least two calibrated cameras")
    return rig.subset(names), tuple(names)


def plan_take(
    take: Take,
    config: PipelineConfig,
    *,
    rig: CameraRig | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
) -> TakePlan:
    """Plan processing ``take`` (see :func:`mocap.pipeline.run.run_take_iter` for the arguments).

    Raises:
        MocapError: an unknown stage, a take still recording or without cameras.
        NoCalibrationError: no ``rig`` and the session has no calibration.
        MismatchError: the take's cameras do not match the rig, or too few cameras.
        FilterSettingsError: a filter setting the take's frame rate cannot honour.
        StageNotCachedError: a stage outside ``stages`` is not cached for this config.
    """
    selected = check_stages(stages)
    if take.info.status == "recording":
        raise MocapError(f"{take.root}: the take is still being recorded; process it when the recording ends")
    if not take.info.cameras:
        raise MocapError(f"{take.root}: the take holds no cameras")
    if rig is None:
        session = take.session
        if session is None:
            raise MocapError(f"{take.root}: not inside a session and no rig given; pass --rig")
        rig = session.load_rig()
    rig, camera_names = _rig_for_take(take, rig)
    if config.filtering is not None:
        from mocap.filtering.pipeline import check_filter_settings

        check_filter_settings(config.filtering, take.info.fps)
    cache = StageCache(take)
    inputs: dict[str, dict[str, str]] = {
        "detect": {"media": media_key(take)},
        "triangulate": {"rig": rig_key(rig_to_toml(rig))},
        "filter": {},
        "export": {},
    }
    if config.detect.uses_rig(config.people):  # cross-view guidance: the detections depend on the rig
        inputs["detect"]["rig"] = inputs["triangulate"]["rig"]
    keys: dict[str, str] = {}
    for previous, stage in zip((None, *STAGES[:-1]), STAGES, strict=True):
        if previous is not None:
            inputs[stage][previous] = keys[previous]
        keys[stage] = stage_key(stage, config.stage_config(stage), inputs[stage])
    needed = STAGES[: max(STAGES.index(s) for s in selected) + 1]
    cached = {s: m for s in needed if (m := cache.valid(s, keys[s])) is not None}
    for stage in needed:
        if stage not in selected and stage not in cached:
            state = "is out of date for these settings" if cache.manifest(stage) else "has not run"
            raise StageNotCachedError(f"{take.root}: stage {stage} {state}; include it in --stages")
    runs = tuple(s for s in needed if s in selected and (force or s not in cached))
    return TakePlan(take, config, rig, camera_names, keys, inputs, needed, cached, runs)
