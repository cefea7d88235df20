"""Filtering of 3D trajectories: zero-phase Butterworth (offline), one-euro (live), gap filling, bone lengths."""

from mocap.filtering.bones import bone_lengths, enforce_bone_lengths, estimate_bone_lengths
from mocap.filtering.butterworth import butterworth_filter, butterworth_sos
from mocap.filtering.gaps import FilledSeries, fill_gaps, find_gaps
from mocap.filtering.one_euro import OneEuroConfig, OneEuroFilter, one_euro_filter
from mocap.filtering.pipeline import FilterConfig, filter_poses

__all__ = [
    "FilledSeries",
    "FilterConfig",
    "OneEuroConfig",
    "OneEuroFilter",
    "bone_lengths",
    "butterworth_filter",
    "butterworth_sos",
    "enforce_bone_lengths",
    "estimate_bone_lengths",
    "fill_gaps",
    "filter_poses",
    "find_gaps",
    "one_euro_filter",
]
