"""Known answers on the synthetic studio: accuracy against an oracle, and robustness to outliers.

The oracle knows which detection slot is the person (``take.slot_person``) and triangulates all of
that person's keypoints with the weighted DLT: the best a plain triangulation can do with a
perfect association and no outlier rejection.
"""

import numpy as np
import pytest

from mocap.metrics import mpjpe
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import TriangulationConfig, triangulate_dlt, triangulate_robust, triangulate_sequence
from mocap.triangulation.single_person import triangulate_single_person


def true_person_views(take, person=0):
    """The person's own keypoints per view: pixels (T, J, V, 2) and scores (T, J, V)."""
    slot = np.argmax(take.slot_person == person, axis=-1)  # (T, V); a view without the person picks slot 0
    present = np.any(take.slot_person == person, axis=-1)
    xy = np.take_along_axis(take.detections.xy, slot[:, :, None, None, None], axis=2)[:, :, 0].astype(np.float64)
    score = np.take_along_axis(take.detections.score, slot[:, :, None, None], axis=2)[:, :, 0].astype(np.float64)
    xy[~present] = np.nan
    score[~present] = 0.0
    return np.moveaxis(xy, 1, -2), np.moveaxis(score, 1, -1)


def with_outliers(pixels, fraction, rng, low=50.0, high=300.0):
    """Replace ``fraction`` of the observed points by points ``low..high`` px away in a random direction."""
    out = pixels.copy()
    chosen = (rng.uniform(size=pixels.shape[:-1]) < fraction) & np.isfinite(pixels[..., 0])
    angle = rng.uniform(0, 2 * np.pi, pixels.shape[:-1])
    radius = rng.uniform(low, high, pixels.shape[:-1])
    out[..., 0] += np.where(chosen, radius * np.cos(angle), 0.0)
    out[..., 1] += np.where(chosen, radius * np.sin(angle), 0.0)
    return out, chosen


@pytest.mark.parametrize("ghosts", [0.0, 0.3])
def test_two_pixel_noise_four_cameras_is_within_ten_percent_of_the_oracle(ghosts, capsys):
    take = generate_take(StudioConfig(num_frames=300, noise_px=2.0, seed=3, false_positives_per_view=ghosts))
    pixels, scores = true_person_views(take)
    oracle = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, take.poses.xyz[:, 0])
    ours = mpjpe(triangulate_single_person(take.rig, take.detections).xyz, take.poses.xyz)
    plain = TriangulationConfig(method="dlt", refine=False)
    ours_plain = mpjpe(triangulate_single_person(take.rig, take.detections, config=plain).xyz, take.poses.xyz)
    with capsys.disabled():
        print(
            f"\n[studio sigma=2px 4 cams ghosts={ghosts}] oracle DLT {oracle * 1e3:.2f} mm, "
            f"ours (robust+refine) {ours * 1e3:.2f} mm, ours plain DLT {ours_plain * 1e3:.2f} mm"
        )
    assert ours <= 1.10 * oracle
    if ghosts == 0:
        assert ours_plain == pytest.approx(oracle, rel=1e-4)  # same observations, same algorithm


def test_twenty_percent_outliers_robust_stays_within_one_and_a_half_of_outlier_free(capsys):
    take = generate_take(StudioConfig(num_frames=300, noise_px=2.0, occlusion=False, seed=5))
    pixels, scores = true_person_views(take)
    truth = take.poses.xyz[:, 0]
    noisy, chosen = with_outliers(pixels, 0.2, np.random.default_rng(7))
    assert 0.18 < chosen.sum() / np.isfinite(pixels[..., 0]).sum() < 0.22
    clean = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, truth)
    plain = mpjpe(triangulate_dlt(take.rig, noisy, scores).points_world, truth)
    per_frame = triangulate_robust(take.rig, noisy, scores)
    sequence = triangulate_sequence(take.rig, noisy, scores, TriangulationConfig())
    robust, full = mpjpe(per_frame.points_world, truth), mpjpe(sequence.points_world, truth)
    with capsys.disabled():
        print(
            f"\n[studio 20% outliers 4 cams] outlier-free DLT {clean * 1e3:.2f} mm; with outliers: plain DLT "
            f"{plain * 1e3:.1f} mm ({plain / clean:.1f}x), robust {robust * 1e3:.2f} mm ({robust / clean:.2f}x, "
            f"{per_frame.valid.mean():.1%} of points), robust+guidance+refine {full * 1e3:.2f} mm "
            f"({full / clean:.2f}x, {sequence.valid.mean():.1%})"
        )
    assert plain > 5 * clean
    assert robust < 1.5 * clean and per_frame.valid.mean() > 0.8
    assert full < 1.5 * clean and sequence.valid.mean() > 0.95
    # no outlier makes it into a point that robust mode keeps... except by a chance agreement
    wrong = (per_frame.views_used & chosen).any(axis=-1)
    assert wrong.mean() < 0.01


def test_outliers_with_more_cameras():
    take = generate_take(StudioConfig(num_frames=120, noise_px=2.0, occlusion=False, seed=6, num_cameras=8))
    pixels, scores = true_person_views(take)
    noisy, _ = with_outliers(pixels, 0.3, np.random.default_rng(8))
    clean = mpjpe(triangulate_dlt(take.rig, pixels, scores).points_world, take.poses.xyz[:, 0])
    robust = triangulate_robust(take.rig, noisy, scores, refine=True)
    assert mpjpe(robust.points_world, take.poses.xyz[:, 0]) < 1.3 * clean and robust.valid.mean() > 0.99
