import numpy as np
import pytest

from mocap.errors import MismatchError
from mocap.metrics import PCP_LIMBS, evaluate_people, match_people, mpjpe
from mocap.poses3d import Poses3D
from mocap.skeleton import COCO17


def person(offset_x: float, frames: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    body = rng.uniform(-0.3, 0.3, (17, 3)) + [offset_x, 0.0, 1.0]
    return np.repeat(body[None], frames, axis=0)


def test_matching_is_one_to_one_and_gated():
    truth = np.stack([person(0)[0], person(2)[0]])
    predicted = np.stack([person(2)[0] + 0.01, person(0)[0], person(9)[0]])
    assert sorted(match_people(predicted, truth)) == [(0, 1), (1, 0)]
    assert match_people(predicted[2:], truth) == []


def test_perfect_prediction_scores_perfectly_even_with_other_ids():
    truth = Poses3D.from_points(np.stack([person(0), person(2)], axis=1), COCO17, 30.0)
    predicted = Poses3D.from_points(np.stack([person(2), person(0)], axis=1), COCO17, 30.0, person_id=[7, 3])
    scores = evaluate_people(predicted, truth)
    assert scores.pcp == 1.0 and scores.mpjpe_m == 0.0 and scores.id_switches == 0
    assert scores.matched_fraction == 1.0 and scores.false_people == 0


def test_pcp_counts_limbs_by_half_their_length_and_missing_people():
    truth_xyz = person(0, frames=2)
    predicted_xyz = truth_xyz.copy()
    elbow, wrist = COCO17.index("left_elbow"), COCO17.index("left_wrist")
    length = np.linalg.norm(truth_xyz[0, elbow] - truth_xyz[0, wrist])
    predicted_xyz[0, wrist] += [0.9 * length, 0, 0]  # forearm ends off by 0.45 L on average -> correct
    predicted_xyz[1, wrist] += [1.1 * length, 0, 0]  # 0.55 L -> incorrect
    truth = Poses3D.from_points(truth_xyz[:, None], COCO17, 30.0)
    scores = evaluate_people(Poses3D.from_points(predicted_xyz[:, None], COCO17, 30.0), truth)
    assert scores.pcp == pytest.approx(1 - 1 / (2 * len(PCP_LIMBS)))
    empty = Poses3D.from_points(np.full((2, 1, 17, 3), np.nan), COCO17, 30.0)
    assert evaluate_people(empty, truth).pcp == 0.0


def test_identity_switches_follow_clear_mot():
    a, b = person(0, frames=6), person(3, frames=6)
    truth = Poses3D.from_points(np.stack([a, b], axis=1), COCO17, 30.0)
    swapped = np.stack([a, b], axis=1)
    swapped[3:] = swapped[3:, ::-1]  # predicted slot 0 follows person a, then person b
    scores = evaluate_people(Poses3D.from_points(swapped, COCO17, 30.0), truth)
    assert scores.id_switches == 2 and scores.per_person_switches == (1, 1)
    gap = np.stack([a, b], axis=1)
    gap[2, 0] = np.nan  # a missed frame is not a switch
    assert evaluate_people(Poses3D.from_points(gap, COCO17, 30.0), truth).id_switches == 0


def test_mismatched_frames_and_mpjpe_of_nothing():
    truth = Poses3D.from_points(person(0, 3)[:, None], COCO17, 30.0)
    with pytest.raises(MismatchError, match="2 frames, ground truth 3"):
        evaluate_people(Poses3D.from_points(person(0, 2)[:, None], COCO17, 30.0), truth)
    assert np.isnan(mpjpe(np.full((2, 3), np.nan), np.zeros((2, 3))))
