"""Offline post-processing of reconstructed poses: gap filling, zero-phase smoothing, bone lengths.

``filter_poses(poses, FilterConfig(...))`` runs, per person, in this order:

1. **gap filling** of runs of at most ``max_gap_frames`` missing frames (:mod:`.gaps`);
2. **Butterworth** zero-phase low-pass at ``cutoff_hz`` (:mod:`.butterworth`), skipped when None;
3. **bone lengths**: estimated per person (median), then softly enforced (:mod:`.bones`), skipped
   when ``bone_stiffness`` is 0.

Filled joints get ``n_views = 0`` and ``reprojection_error = NaN``: they were interpolated, not
seen (the :class:`~mocap.poses3d.Poses3D` convention for points no view made). Live smoothing
uses :class:`~mocap.filtering.one_euro.OneEuroFilter` instead.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from calibration.conventions import PADDED_PERSON_ID
from mocap.errors import MocapError
from mocap.filtering.bones import enforce_bone_lengths, estimate_bone_lengths
from mocap.filtering.butterworth import butterworth_filter
from mocap.filtering.gaps import GapMethod, fill_gaps
from mocap.poses3d import Poses3D


class FilterSettingsError(MocapError, ValueError):
    """A filter setting the poses cannot honour (e.g. a cutoff above half their frame rate)."""


class FilterConfig(BaseModel):
    """How reconstructed poses are post-processed (offline)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_gap_frames: int = Field(10, ge=0, description="Longest run of missing frames to interpolate; 0: none.")
    gap_method: GapMethod = Field("cubic", description="Interpolation across gaps: 'linear' or 'cubic'.")
    cutoff_hz: float | None = Field(
        6.0, gt=0, description="Butterworth cutoff (-3 dB of the zero-phase filter), Hz; None: no smoothing."
    )
    order: int = Field(4, ge=1, le=8, description="Butterworth order of each pass.")
    bone_stiffness: float = Field(
        0.0, ge=0, le=1, description="Pull towards the person's median bone lengths per round; 0: off."
    )
    bone_rounds: int = Field(10, ge=1, description="Constraint projection rounds when bone_stiffness > 0.")


def check_filter_settings(config: FilterConfig, fps: float) -> None:
    """Raise :class:`FilterSettingsError` when ``config`` cannot filter poses at ``fps`` (check before work)."""
    if config.cutoff_hz is not None and not config.cutoff_hz < 0.5 * fps:
        raise FilterSettingsError(
            f"smoothing cutoff {config.cutoff_hz:g} Hz must be below half the frame rate ({0.5 * fps:g} Hz); "
            "lower the smoothing cutoff"
        )


def filter_poses(poses: Poses3D, config: FilterConfig | None = None) -> Poses3D:
    """Post-process every person of ``poses`` (see the module docstring).

    Raises:
        FilterSettingsError: a cutoff at or above what the frame rate allows (``fps / 2``).
    """
    config = config or FilterConfig()
    check_filter_settings(config, poses.fps)
    xyz = poses.xyz.astype(np.float64)
    error = poses.reprojection_error.astype(np.float64)
    n_views = poses.n_views.astype(np.int64)
    for p, person_id in enumerate(poses.person_id):
        if person_id == PADDED_PERSON_ID:
            continue
        track = xyz[:, p]  # (T, J, 3)
        if config.max_gap_frames > 0:
            result = fill_gaps(track, config.max_gap_frames, config.gap_method)
            track = result.values
            error[:, p][result.filled] = np.nan
            n_views[:, p][result.filled] = 0
        if config.cutoff_hz is not None:
            track = butterworth_filter(track, poses.fps, config.cutoff_hz, config.order)
        if config.bone_stiffness > 0:
            weights = np.maximum(n_views[:, p], 1).astype(np.float64)
            # joints no view made (filled, imported) do not count, unless no view made any
            seen = n_views[:, p] if np.any(n_views[:, p] > 0) else None
            lengths = estimate_bone_lengths(track, poses.layout, seen, min_weight=0)
            track = enforce_bone_lengths(
                track,
                poses.layout,
                lengths,
                stiffness=config.bone_stiffness,
                rounds=config.bone_rounds,
                weights=weights,
            )
        xyz[:, p] = track
    return Poses3D(xyz, poses.person_id, error, n_views, poses.layout, poses.fps)
