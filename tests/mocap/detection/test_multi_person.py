"""Several people per view with the blazepose backend: tiles, cut edges, occluder masks, one
person's torso, and the real two-person take (both people in every view, nobody invented)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from calibration.progress import drain
from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector
from mocap.detection.roi import clear_of_cut_edges, convex_hull, paint_convex, square_tiles
from mocap.detection.run import detect_media_iter, media_paths
from mocap.detection.tflite_reference import mediapipe_available
from mocap.detection.tracks import TORSO, same_pose


def test_square_tiles_cover_the_long_side_with_even_overlaps():
    tiles = square_tiles(1088, 1920)
    assert tiles == [(0, 0, 1088), (0, 416, 1088), (0, 832, 1088)]
    assert square_tiles(1920, 1080) == [(0, 0, 1080), (420, 0, 1080), (840, 0, 1080)]
    assert square_tiles(640, 600) == []  # near square: a tile would hardly enlarge anything
    for width, height in ((1088, 1920), (4000, 1000), (1000, 2500)):
        tiles = square_tiles(width, height)
        short, long = min(width, height), max(width, height)
        starts = [max(x0, y0) for x0, y0, _ in tiles]
        assert starts[0] == 0 and starts[-1] + short == long  # both ends covered
        overlaps = [short - (b - a) for a, b in itertools.pairwise(starts)]
        assert min(overlaps) >= short * short / long - 1  # the documented least overlap
        assert all(x0 >= 0 and x0 + side <= width and y0 >= 0 and y0 + side <= height for x0, y0, side in tiles)


def test_detections_at_a_tile_cut_are_dropped_but_not_at_the_image_border():
    bottom = (0, 832, 1088)  # the bottom tile of a 1088 x 1920 frame: its top edge cuts the image
    points = np.array(
        [
            [[500.0, 850.0], [500.0, 900.0]],  # hip centre 18 px below the cut: a partial body
            [[500.0, 1450.0], [520.0, 1100.0]],  # well inside the bottom tile, past the middle one's lower cut
            [[5.0, 1300.0], [520.0, 1910.0]],  # at the left and bottom image borders: nothing is cut there
        ]
    )
    assert clear_of_cut_edges(points, bottom, 1088, 1920).tolist() == [False, True, True]
    middle = (0, 416, 1088)
    assert clear_of_cut_edges(points, middle, 1088, 1920).tolist() == [True, False, False]


def test_painting_a_convex_hull_fills_it_and_spares_the_kept_region():
    import cv2

    rng = np.random.default_rng(3)
    points = rng.uniform(20, 180, size=(12, 2))
    hull = convex_hull(points)
    edges = np.roll(hull, -1, axis=0) - hull
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    assert len(hull) >= 3 and ((turns > 0).all() or (turns < 0).all())  # a convex ring, one way round
    inside_hull = [cv2.pointPolygonTest(hull.astype(np.float32), tuple(map(float, p)), False) >= 0 for p in points]
    assert all(inside_hull)  # every point lies in its hull
    image = torch.zeros((200, 220, 3), dtype=torch.uint8)
    painted = paint_convex(image, [hull], value=128).numpy()
    reference = np.zeros((200, 220), np.uint8)
    cv2.fillConvexPoly(reference, np.round(hull).astype(np.int32), 1)
    assert np.array_equal(painted[..., 0] == 128, reference.astype(bool))
    assert (painted[reference == 0] == 0).all() and (painted[reference == 1] == 128).all()
    keep = convex_hull(np.array([[90.0, 90.0], [130.0, 90.0], [130.0, 130.0], [90.0, 130.0]]))
    spared = paint_convex(image, [hull], keep=keep).numpy()[..., 0]
    assert (spared[90:131, 90:131] == 0).all() and (spared == 128).sum() > 0
    assert torch.equal(image, torch.zeros_like(image))  # the input is not modified


def test_same_pose_compares_torsos_not_heads_or_hands():
    rng = np.random.default_rng(0)
    person = rng.uniform(0, 500, size=(33, 2))
    other = person + 200.0  # another person...
    other[:11] = person[:11] + 3.0  # ...whose head touches the first one's
    other[15:23] = person[15:23] - 2.0  # ...and hands too: 19 of 33 landmarks coincide
    assert not same_pose(person, other, region_size=1000.0, fraction=0.05)
    jumped = person + 200.0
    jumped[list(TORSO)] = person[list(TORSO)] + 10.0  # the landmark model put it on the same body
    assert same_pose(person, jumped, region_size=1000.0, fraction=0.05)


def _people_per_frame(take: str, shared_data, **options):
    if not mediapipe_available():
        pytest.skip("mediapipe==0.10.14 is not installed (it ships the BlazePose models)")
    import torch

    paths = media_paths([shared_data / "pose2sim_demo" / take])
    config = BlazePoseConfig(max_people=2, redetect_every=10, **options)  # what mocap detect --max-people 2 runs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as mocap detect on the CPU: round-off, hence a few tracking decisions, follow it
    try:
        detections = drain(detect_media_iter(paths, BlazePoseDetector(config)))
    finally:
        torch.set_num_threads(threads)
    return detections, (detections.score.max(axis=-1) > 0).sum(axis=-1)  # (T, V) people found


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("guided", [False, True], ids=["alone", "rig"])
def test_both_people_of_the_multi_person_take_in_every_view(shared_data, capsys, guided):
    # The whole take (100 frames): from frame ~40 on the man leans over the composited woman in
    # cam03, their heads touch and their hips come within ~100 px (see the backend's docstring).
    # With the take's calibration, the three other views say where cam03 should look for him.
    rig = shared_data / "pose2sim_demo" / "multi_person" / "calibration" / "Calib.qca.txt"
    detections, people = _people_per_frame("multi_person", shared_data, rig=rig if guided else None)
    both = people == 2  # (T, V)
    # Two different people, not one body found twice: their torsos (median over shoulders and
    # hips) lie apart by more than 0.3 torso lengths (1.7 or more where they do not overlap).
    torso = detections.xy[:, :, :, list(TORSO)]  # (T, V, 2, 4, 2)
    apart = np.nanmedian(np.linalg.norm(torso[:, :, 0] - torso[:, :, 1], axis=-1), axis=-1)  # (T, V)
    length = np.linalg.norm(torso[..., :2, :].mean(axis=-2) - torso[..., 2:, :].mean(axis=-2), axis=-1)
    with np.errstate(invalid="ignore"):
        distinct = both & (apart > 0.3 * np.nanmin(length, axis=-1))
    with capsys.disabled():
        print(
            f"\n[detection] multi_person, 100 frames, {'with' if guided else 'without'} rig, per view: "
            f"both people found "
            f"{np.round(both.mean(axis=0), 2).tolist()}, torsos apart {np.round(distinct.mean(axis=0), 2).tolist()}"
        )
    assert detections.num_slots == 2 and (people >= 1).all()
    # measured, cam03 (the others 1.0), one torch thread: alone found 0.94-0.95, apart 0.90-0.95
    # (it loses the man in a few frames of 49-92, where the two overlap most); with the rig, whose
    # second look finds him again in the frame he was lost, found 1.0 (also with two torch
    # threads), apart 0.97. Alone with two threads cam03 was 0.92, and on another CPU (AMD Zen 3)
    # the rig without the second look gave 0.97: the margins cover such round-off.
    assert both.mean(axis=0).min() >= (0.97 if guided else 0.9) and both.mean() >= (0.99 if guided else 0.97)
    assert distinct.mean(axis=0).min() >= 0.9 and distinct.mean() >= 0.97


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("guided", [False, True], ids=["alone", "rig"])
def test_the_single_person_take_gives_one_person_per_view_with_room_for_two(shared_data, guided):
    # Tiles look for a second person at every re-detection; the legs a bottom tile cuts off (an
    # upside-down "person" to the detector) and the bystanders must not become one. With the rig,
    # guidance has one person to project and every view tracks them: nothing to add.
    rig = shared_data / "pose2sim_demo" / "single_person" / "calibration" / "Calib.qca.txt"
    _, people = _people_per_frame("single_person", shared_data, rig=rig if guided else None)
    assert (people == 1).all()
