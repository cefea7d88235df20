"""The second look: a person a view lost this frame, looked for again where the other views see them."""

from __future__ import annotations

import numpy as np
import torch

from mocap.detection.blazepose_models import LandmarkResult
from mocap.detection.guidance import CrossViewGuide, torso_distance
from mocap.detection.protocol import FrameSetDetections
from mocap.detection.second_look import SecondLookSettings, second_look, take_free_slots
from mocap.detection.tracks import HEAD_AND_TORSO, Track

from .test_guidance import _scene

SETTINGS = SecondLookSettings(roi_scale=1.25, min_presence=0.15, agreement=0.5, same_person=0.05)


class _Answers:
    """Stands in for the landmark model: answers each region with a given body and presence, and
    keeps the images it was shown."""

    def __init__(self, body: np.ndarray, presence: float) -> None:
        self.body, self.presence, self.shown = body, presence, []

    def landmarks(self, images, view_of_roi, center, size, rotation):
        self.shown = [images[int(i)] for i in view_of_roi]
        count = len(view_of_roi)
        xy = np.zeros((count, 39, 2))
        xy[:, :33] = self.body
        xy[:, 33], xy[:, 34] = self.body[[23, 24]].mean(axis=0), self.body[[11, 12]].mean(axis=0)
        return LandmarkResult(xy, np.full((count, 39), 0.8, np.float32), np.full(count, self.presence, np.float32))


def _track(slot: int, body: np.ndarray) -> Track:
    return Track(slot, body[[23, 24]].mean(axis=0), 400.0, 0.0, body.copy(), np.full(33, 0.9))


def _setup():
    """Four views; view 2 lost the second person this frame and still tracks the first."""
    rig, pixels = _scene()
    tracks = [[_track(0, pixels[0][v]), _track(1, pixels[1][v])] for v in range(4)]
    tracks[2] = tracks[2][:1]
    width, height = rig[0].image_size
    images = [torch.zeros((height, width, 3), dtype=torch.uint8) for _ in range(4)]
    return CrossViewGuide(rig, rig.names), pixels, tracks, images


def test_the_lost_person_is_found_again_and_takes_the_free_slot():
    guide, pixels, tracks, images = _setup()
    model = _Answers(pixels[1][2], presence=0.9)  # the landmark model finds them where they are
    found = second_look(guide, model, tracks, images, [2], SETTINGS)
    assert len(found) == 1 and found[0].view == 2
    assert np.allclose(found[0].body, pixels[1][2]) and found[0].region is not None
    # the crop came from a copy where the person view 2 still tracks is painted grey, head and torso
    shown = model.shown[0].numpy()
    tracked = pixels[0][2][list(HEAD_AND_TORSO)]
    inside = np.round(tracked.mean(axis=0)).astype(int)
    assert (shown[inside[1], inside[0]] == 128).all() and images[2].sum() == 0
    detections = FrameSetDetections(np.full((4, 2, 33, 2), np.nan, np.float32), np.zeros((4, 2, 33), np.float32))
    out = take_free_slots(found, tracks, detections, max_people=2)
    assert np.allclose(out.xy[2, 1], pixels[1][2], atol=1e-3) and np.isnan(out.xy[2, 0]).all()
    assert [t.slot for t in tracks[2]] == [0, 1]
    again = take_free_slots(found, tracks, out, max_people=2)  # no slot left: nothing changes
    assert np.array_equal(again.xy, out.xy, equal_nan=True) and np.array_equal(again.score, out.score)
    assert [t.slot for t in tracks[2]] == [0, 1]


def test_an_answer_elsewhere_or_not_present_or_on_a_tracked_body_is_not_kept():
    guide, pixels, tracks, images = _setup()
    assert second_look(guide, _Answers(pixels[1][2], presence=0.1), tracks, images, [2], SETTINGS) == []
    # the model went back to the person the view tracks: not where the others put the lost one
    assert second_look(guide, _Answers(pixels[0][2], presence=1.0), tracks, images, [2], SETTINGS) == []
    # a view that tracks everyone the others see: nobody to look for, the model never runs
    model = _Answers(pixels[1][1], presence=1.0)
    assert second_look(guide, model, tracks, images, [1], SETTINGS) == [] and model.shown == []


def test_a_body_fitted_facing_the_other_way_is_the_same_person():
    _, pixels = _scene()
    body = pixels[0][1]
    mirrored = body.copy()
    mirrored[[11, 12, 23, 24]] = body[[12, 11, 24, 23]]  # left and right swapped
    assert torso_distance(mirrored, body) < 1e-9
    assert torso_distance(pixels[1][1], body) > 1.0
