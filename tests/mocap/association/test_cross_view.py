import numpy as np
import pytest

from mocap.association.cross_view import CrossViewConfig, cluster_detections, pair_distances
from mocap.association.geometry import nanmedian, normalized_detections, view_geometry
from mocap.synthetic.studio import StudioConfig, generate_take


@pytest.mark.filterwarnings("ignore:All-NaN slice encountered")
def test_fast_nanmedian_matches_numpy(rng):
    values = rng.normal(size=(50, 7, 9))
    values[rng.uniform(size=values.shape) < 0.3] = np.nan
    values[0, 0] = np.nan
    np.testing.assert_allclose(nanmedian(values, axis=-1), np.nanmedian(values, axis=-1), equal_nan=True)


def test_epipolar_distance_is_zero_for_the_same_person_and_large_for_others():
    take = generate_take(StudioConfig(num_cameras=4, num_people=3, num_frames=1, shuffle_slots=False, occlusion=False))
    geometry = view_geometry(take.rig)
    xn = normalized_detections(take.rig, take.detections)[0]
    scores = take.detections.score[0].astype(float)
    d = pair_distances(geometry, 0, 1, xn[0], scores[0], xn[1], scores[1], CrossViewConfig())
    same = take.slot_person[0, 0][:, None] == take.slot_person[0, 1][None, :]
    assert np.all(d[same] < 1e-6)
    assert np.all(d[~same] > 0.15)


def test_noise_free_frame_clusters_into_the_true_people():
    take = generate_take(StudioConfig(num_cameras=6, num_people=5, num_frames=3, false_positives_per_view=1.0, seed=4))
    geometry = view_geometry(take.rig)
    xn = normalized_detections(take.rig, take.detections)
    for t in range(3):
        scores = take.detections.score[t].astype(float)
        candidates = [np.flatnonzero((scores[v] > 0).sum(axis=-1) >= 5) for v in range(6)]
        clusters = cluster_detections(geometry, candidates, xn[t], scores, CrossViewConfig())
        people = []
        for cluster in clusters:
            owners = {int(take.slot_person[t, v, s]) for v, s in cluster.items()}
            assert len(owners) == 1, f"a cluster mixes people {owners}"
            people.append(owners.pop())
        assert sorted(p for p in people if p >= 0) == list(range(5))
        assert all(len(c) == len(set(c)) for c in clusters)  # one detection per view
