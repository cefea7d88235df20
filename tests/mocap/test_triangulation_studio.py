"""Known answers on the synthetic studio: accuracy against an oracle, and robustness to outliers.

The oracle knows which detection slot is the person (``take.slot_person``) and triangulates all of
that person's keypoints with the weighted DLT: the best a plain triangulation can do with a
perfect association and no outlier rejection. The studies live in :mod:`mocap.triangulation.studies`
(``mocap bench triangulation`` prints the same numbers).
"""

import numpy as np
import pytest

from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import triangulate_dlt, triangulate_robust
from mocap.triangulation.single_person import triangulate_single_person
from mocap.triangulation.studies import PLAIN, add_outliers, oracle_comparison, outlier_comparison, person_views


@pytest.mark.parametrize("ghosts", [0.0, 0.3])
def test_two_pixel_noise_four_cameras_is_within_ten_percent_of_the_oracle(ghosts, capsys):
    oracle, ours = oracle_comparison(ghosts)
    with capsys.disabled():
        print(f"\n[studio sigma=2px 4 cams ghosts={ghosts}] oracle DLT {oracle * 1e3:.2f} mm, ours {ours * 1e3:.2f} mm")
    assert ours <= 1.10 * oracle


def test_plain_dlt_of_the_single_person_path_is_the_oracle():
    take = generate_take(StudioConfig(num_frames=100, noise_px=2.0, seed=3))
    pixels, scores = person_views(take)
    oracle = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, take.poses.xyz[:, 0])
    plain = mpjpe(triangulate_single_person(take.rig, take.detections, config=PLAIN).xyz, take.poses.xyz)
    assert plain == pytest.approx(oracle, rel=1e-4)  # same observations, same algorithm


def test_twenty_percent_outliers_robust_stays_within_one_and_a_half_of_outlier_free(capsys):
    study = outlier_comparison(0.2)
    clean = study["clean"]
    with capsys.disabled():
        print(
            f"\n[studio 20% outliers 4 cams] outlier-free DLT {clean * 1e3:.2f} mm; with outliers: plain DLT "
            f"{study['plain_with_outliers'] * 1e3:.1f} mm, robust {study['robust'] * 1e3:.2f} mm "
            f"({study['robust_points']:.1%} of points), robust+guidance+refine {study['guided'] * 1e3:.2f} mm "
            f"({study['guided_points']:.1%})"
        )
    assert 0.18 < study["outlier_fraction"] < 0.22
    assert study["plain_with_outliers"] > 5 * clean
    assert study["robust"] < 1.5 * clean and study["robust_points"] > 0.8
    assert study["guided"] < 1.5 * clean and study["guided_points"] > 0.95
    assert study["outliers_used"] < 0.01  # no outlier makes it into a kept point, except by a chance agreement


def test_outliers_with_more_cameras():
    take = generate_take(StudioConfig(num_frames=120, noise_px=2.0, occlusion=False, seed=6, num_cameras=8))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.3, np.random.default_rng(8))
    clean = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, take.poses.xyz[:, 0])
    robust = triangulate_robust(take.rig, noisy, scores, refine=True)
    assert mpjpe(robust.points_world, take.poses.xyz[:, 0]) < 1.3 * clean and robust.valid.mean() > 0.99
