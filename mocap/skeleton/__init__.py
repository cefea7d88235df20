"""Keypoint layouts as data and mappings between them (the output hierarchy lands with export)."""

from mocap.skeleton.layouts import (
    BLAZEPOSE33,
    BODY25,
    BODY25B,
    CANONICAL_JOINTS,
    COCO17,
    HALPE26,
    SMPL24,
    KeypointLayout,
    get_layout,
    layout_from_names,
    layout_names,
    register_layout,
)
from mocap.skeleton.mapping import LayoutMapping, layout_mapping

__all__ = [
    "BLAZEPOSE33",
    "BODY25",
    "BODY25B",
    "CANONICAL_JOINTS",
    "COCO17",
    "HALPE26",
    "SMPL24",
    "KeypointLayout",
    "LayoutMapping",
    "get_layout",
    "layout_from_names",
    "layout_mapping",
    "layout_names",
    "register_layout",
]
