"""Occluder masks: the other people a landmark crop must not show, painted grey (step 4 of
:mod:`mocap.detection.backends.blazepose`).

Where one person leans over another, the landmark model given the first one's region returns the
more visible one. So a region is cropped from a copy of the image in which the heads and torsos
(convex hulls of :data:`~mocap.detection.tracks.HEAD_AND_TORSO`) of the view's other tracked
people are painted grey, except where its own head and torso are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.detection.landmarks import HIPS, SHOULDERS
from mocap.detection.roi import convex_hull, paint_convex
from mocap.detection.tracks import HEAD_AND_TORSO, Regions


def paint_heads_and_torsos(
    image: Any, bodies: Sequence[NDArray[np.float64]], keep: NDArray[np.float64] | None = None
) -> Any:
    """A copy of ``image`` with the heads and torsos of ``bodies`` (each (33, 2) pixels) painted grey,
    except inside the convex polygon ``keep``."""
    hull = list(HEAD_AND_TORSO)
    return paint_convex(image, [convex_hull(body[hull]) for body in bodies], keep=keep)


def masked_images(tensors: Sequence[Any], regions: Regions) -> tuple[list[Any], NDArray[np.int64]]:
    """Images to crop each region from, and the index of each region's image: the view's own, or
    a copy with other tracked people's heads and torsos (last frame's landmarks) painted grey.

    Which others, per kind of region:

    - a **track**: those whose head and torso lay within its landmarks' bounding box last frame,
      not over its own head and torso;
    - a **new detection**: the tracked people it is not (its region centre, a hip centre, further
      than half a torso from theirs); nothing of its own to keep;
    - a **guided** region (cross-view guidance): every other tracked person (all but the track the
      projection matched), not over where the projection puts this one's head and torso.
    """
    images = list(tensors)
    image_of_roi = np.asarray(regions.views, dtype=np.int64).copy()
    hull, shoulders, hips = list(HEAD_AND_TORSO), list(SHOULDERS), list(HIPS)
    for row, (view, previous) in enumerate(zip(regions.views, regions.bodies, strict=True)):
        tracked = [
            other
            for other_row, (v, other) in enumerate(zip(regions.views, regions.bodies, strict=True))
            if v == view and other is not None and other_row != row
        ]
        expected = regions.expected[row]
        if expected is not None:
            own = expected[hull][np.isfinite(expected[hull]).all(axis=1)]
            keep = convex_hull(own) if len(own) >= 3 else None
            others = [
                other
                for other_row, (v, other) in enumerate(zip(regions.views, regions.bodies, strict=True))
                if v == view and other is not None and regions.slots[other_row] != regions.slots[row]
            ]
        elif previous is None:
            keep = None
            others = [
                other
                for other in tracked
                if np.linalg.norm(regions.centers[row] - other[hips].mean(axis=0))
                > 0.5 * np.linalg.norm(other[shoulders].mean(axis=0) - other[hips].mean(axis=0))
            ]
        else:
            keep = convex_hull(previous[hull])
            low, high = np.nanmin(previous, axis=0), np.nanmax(previous, axis=0)
            others = [
                other
                for other in tracked
                if np.all(np.nanmin(other[hull], axis=0) <= high) and np.all(np.nanmax(other[hull], axis=0) >= low)
            ]
        if others:
            images.append(paint_heads_and_torsos(tensors[view], others, keep=keep))
            image_of_roi[row] = len(images) - 1
    return images, image_of_roi
