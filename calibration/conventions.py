"""Conventions shared by every package of the studio. Read this before writing geometry.

Frames and units
----------------
* **World**: right-handed, **Z up**, units **metres**. The floor is the plane ``z = 0`` once a
  rig has been aligned to it.
* **Camera**: OpenCV's frame — x to the right of the image, y down the image, z forward along
  the optical axis. A point is in front of a camera when its camera-frame ``z > 0``.
* **Pixels**: origin at the top-left corner of the top-left pixel's centre as OpenCV defines it
  (pixel centres at integer coordinates), x to the right, y down.

Transforms
----------
Transforms are named by direction, ``<to>_from_<from>``; points are named by frame,
``points_<frame>``. Extrinsics map world to camera::

    points_camera = R @ points_world + t        # R, t = camera_from_world

so ``t`` is the world origin expressed in the camera frame, and the camera centre in the world
is ``-R.T @ t``. Conversions to Y-up, centimetres or other axis conventions happen **only in
exporters**, as options.

Axis order
----------
Arrays that carry several of these axes always order them ``T V P J C``:

* ``T`` frames (time), ``V`` views (cameras), ``P`` people (person slots), ``J`` joints,
  ``C`` components (2 for pixels, 3 for world points).

Coordinates and confidences live in separate arrays (``xy`` and ``score``), never packed in one.

Missing values
--------------
* A missing coordinate is ``NaN`` (all of its components). A missing joint's score is ``0``.
* A padded person slot has all coordinates ``NaN``, all scores ``0`` and id ``-1``.
* Numerical degeneracy (a point seen by one view only, a point behind a camera) is data — ``NaN``
  plus a reason where the type has room for one — not an exception.
"""

from __future__ import annotations

from typing import Final

#: Axis names in the order every multi-axis array uses.
AXES: Final = ("T", "V", "P", "J", "C")

#: Up direction of the world frame.
WORLD_UP: Final = (0.0, 0.0, 1.0)

#: Units of world coordinates.
WORLD_UNITS: Final = "m"

#: Person id of a padded (empty) person slot.
PADDED_PERSON_ID: Final = -1

#: Score of a missing joint.
MISSING_SCORE: Final = 0.0

#: Version of the on-disk formats written by this code base (rig TOML metadata, npz files).
SCHEMA_VERSION: Final = 1
