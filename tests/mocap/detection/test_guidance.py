"""Cross-view guidance: people the other views see, projected into a view that lost them."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.detection.guidance import CrossViewGuide, torso_distance
from mocap.detection.landmarks import HIPS, SHOULDERS
from mocap.detection.roi import roi_from_body
from mocap.errors import MismatchError
from mocap.synthetic.cameras import make_rig

TORSO = list(SHOULDERS + HIPS)


def _person(rng: np.random.Generator, x: float, y: float) -> np.ndarray:
    """33 world points (metres, Z up) of a standing person at (x, y): shoulders 1.45 m high,
    hips 0.95 m, the rest scattered over the body's height."""
    points = np.column_stack([rng.uniform(-0.3, 0.3, 33) + x, rng.uniform(-0.2, 0.2, 33) + y, rng.uniform(0, 1.7, 33)])
    points[[11, 12]] = [[x - 0.2, y, 1.45], [x + 0.2, y, 1.45]]
    points[[23, 24]] = [[x - 0.12, y, 0.95], [x + 0.12, y, 0.95]]
    return points


def _scene(seed: int = 0):
    rng = np.random.default_rng(seed)
    rig = make_rig(4, rng, distortion="mild")
    people = [_person(rng, -0.6, 0.2), _person(rng, 0.7, -0.3)]
    pixels = [rig.project(p) for p in people]  # each (V, 33, 2)
    return rig, pixels


def _tracks(pixels, views_of_person):
    """Per view, the (N, 33, 2) bodies and (N, 33) scores of the people it tracks."""
    bodies, scores = [], []
    for v in range(pixels[0].shape[0]):
        seen = [p[v] for k, p in enumerate(pixels) if v in views_of_person[k]]
        bodies.append(np.array(seen).reshape(-1, 33, 2))
        scores.append(np.full((len(seen), 33), 0.9))
    return bodies, scores


def test_a_person_lost_in_one_view_is_projected_there_from_the_others():
    rig, pixels = _scene()
    guide = CrossViewGuide(rig, rig.names)
    everywhere = {0, 1, 2, 3}
    bodies, scores = _tracks(pixels, [everywhere, {0, 1, 3}])  # view 2 lost the second person
    people = guide.people(bodies, scores, views=[2])
    assert sorted((p.view, p.matched) for p in people) == [(2, -1), (2, 0)]  # seen by all 3 others: both
    found = [p for p in people if p.matched < 0]
    assert found[0].views == (0, 1, 3)
    error = np.linalg.norm(found[0].body_px - pixels[1][2], axis=-1)
    assert np.nanmax(error) < 0.5  # exact data: the projection is where the person is
    assert torso_distance(pixels[1][2], found[0].body_px) < 0.01
    assert torso_distance(pixels[0][2], found[0].body_px) > 1.0  # the person view 2 still tracks is elsewhere


def _lost(guide, bodies, scores, views):
    return [(p.view, p.views) for p in guide.people(bodies, scores, views) if p.matched < 0]


def test_nobody_is_lost_where_the_view_tracks_everyone():
    rig, pixels = _scene(1)
    guide = CrossViewGuide(rig, rig.names)
    everywhere = {0, 1, 2, 3}
    bodies, scores = _tracks(pixels, [everywhere, everywhere])
    people = guide.people(bodies, scores, views=[0, 1, 2, 3])
    assert len(people) == 8 and {p.matched for p in people} == {0, 1}
    # seen by one other view only: nothing to triangulate, nothing guessed
    bodies, scores = _tracks(pixels, [everywhere, {0, 2}])
    assert _lost(guide, bodies, scores, [2]) == []
    assert _lost(guide, bodies, scores, [1]) == [(1, (0, 2))]


def test_a_body_near_the_projection_counts_as_the_person():
    rig, pixels = _scene(2)
    guide = CrossViewGuide(rig, rig.names, agreement=0.5)
    bodies, scores = _tracks(pixels, [{0, 1, 2, 3}, {0, 1, 3}])
    length = np.linalg.norm(pixels[1][2][[11, 12]].mean(0) - pixels[1][2][[23, 24]].mean(0))
    shifted = pixels[1][2] + [0.2 * length, 0.0]  # view 2's own, noisier landmarks of that person
    bodies[2] = np.stack([bodies[2][0], shifted])
    scores[2] = np.full((2, 33), 0.9)
    assert _lost(guide, bodies, scores, [2]) == []
    bodies[2] = np.stack([bodies[2][0], pixels[1][2] + [0.8 * length, 0.0]])  # too far: someone else
    assert _lost(guide, bodies, scores, [2]) == [(2, (0, 1, 3))]


def test_view_names_must_match_the_rig():
    rig, _ = _scene()
    CrossViewGuide(rig, ["CAM-1", "cam 2", "cam_3", "cam4"])  # case, separators: the same cameras
    with pytest.raises(MismatchError):
        CrossViewGuide(rig, ["cam_1", "cam_2", "cam_3", "cam_9"])


def test_a_region_from_a_body_is_centred_on_the_hips_with_the_body_up():
    body = np.full((33, 2), np.nan)
    body[list(HIPS)] = [[90.0, 300.0], [110.0, 300.0]]
    body[list(SHOULDERS)] = [[80.0, 200.0], [120.0, 200.0]]
    body[0] = [100.0, 150.0]  # the head, farthest from the hip centre
    region = roi_from_body(body, HIPS, SHOULDERS, scale=1.25)
    assert region is not None
    center, size, rotation = region
    assert np.allclose(center, [100.0, 300.0]) and size == pytest.approx(2 * 150 * 1.25)
    assert rotation == pytest.approx(0.0)  # upright
    lying = body[:, ::-1].copy()  # the same body turned a quarter (x and y swapped)
    _, _, turned = roi_from_body(lying, HIPS, SHOULDERS) or (None, 0.0, 0.0)
    assert abs(turned) == pytest.approx(np.pi / 2)
    body[list(HIPS)] = np.nan
    assert roi_from_body(body, HIPS, SHOULDERS) is None
