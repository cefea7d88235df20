"""One-euro filter: the documented lag on ramps, jitter reduction, missing samples, bad input."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.filtering import OneEuroConfig, OneEuroFilter, one_euro_filter


def steady_lag(speed, fps, config):
    """The root of L = v / (2 pi (min_cutoff + beta (v + L fps))) (see the module docstring)."""
    a = 2 * np.pi * config.beta * fps
    b = 2 * np.pi * (config.min_cutoff_hz + config.beta * speed)
    return (-b + np.sqrt(b * b + 4 * a * speed)) / (2 * a) if a > 0 else speed / b


@pytest.mark.parametrize(("speed", "beta"), [(0.2, 0.5), (1.0, 0.5), (3.0, 0.5), (1.0, 0.0), (1.0, 4.0)])
def test_lag_on_a_ramp_matches_the_documented_steady_state_and_bounds(speed, beta):
    fps = 30.0
    config = OneEuroConfig(min_cutoff_hz=1.0, beta=beta, d_cutoff_hz=1.0)
    t = np.arange(300) / fps
    ramp = np.stack([speed * t, 0.5 * speed * t, np.zeros_like(t)], axis=1)  # (T, 3), metres
    out = one_euro_filter(ramp[:, None, :], fps, config)[:, 0]
    speed_3d = speed * np.hypot(1.0, 0.5)
    lag = np.linalg.norm(ramp[-1] - out[-1])  # distance behind the input at the end
    assert lag == pytest.approx(steady_lag(speed_3d, fps, config), rel=0.01)
    assert lag < speed_3d / (2 * np.pi * config.min_cutoff_hz)  # time lag below 1 / (2 pi min_cutoff)
    if beta > 0:
        assert lag < 1 / (2 * np.pi * beta)  # distance lag below 1 / (2 pi beta), whatever the speed


def test_documented_example():
    config = OneEuroConfig(min_cutoff_hz=1.0, beta=0.5)
    assert steady_lag(1.0, 30.0, config) == pytest.approx(0.064, abs=0.001)


def test_jitter_at_rest_is_reduced(rng):
    fps = 60.0
    noise = rng.normal(0.0, 0.01, (600, 17, 3)) + [0.1, 0.2, 1.0]
    out = one_euro_filter(noise, fps, OneEuroConfig(min_cutoff_hz=1.0, beta=0.5))
    assert np.std(out[60:], axis=0).mean() < 0.3 * np.std(noise[60:], axis=0).mean()


def test_missing_samples_and_resets():
    smoother = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=0.0, reset_after_s=0.5))
    first = smoother(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), 0.0)
    np.testing.assert_array_equal(first, [[0, 0, 0], [1, 1, 1]])  # first sample passes through
    second = smoother(np.array([[1.0, 0.0, 0.0], [np.nan, 1.0, 1.0]]), 0.1)
    assert 0 < second[0, 0] < 1 and np.isnan(second[1]).all()
    third = smoother(np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 1.0]]), 0.2)
    assert 1.0 < third[1, 0] < 2.0  # point 1 resumes from its state 0.2 s ago
    fresh = smoother(np.array([[np.nan] * 3, [5.0, 5.0, 5.0]]), 1.0)
    np.testing.assert_array_equal(fresh[1], [5, 5, 5])  # unseen for 0.8 s > reset_after_s: restart
    smoother.reset()
    np.testing.assert_array_equal(smoother(np.ones((2, 3)), 0.0), np.ones((2, 3)))


def test_bad_input():
    smoother = OneEuroFilter()
    smoother(np.zeros((4, 3)), 1.0)
    with pytest.raises(ShapeError, match="as the first sample"):
        smoother(np.zeros((5, 3)), 2.0)
    with pytest.raises(ValueError, match="times must increase"):
        smoother(np.zeros((4, 3)), 1.0)
    with pytest.raises(ValueError, match="fps"):
        one_euro_filter(np.zeros((5, 3)), 0.0)
    with pytest.raises(ValueError, match="greater than 0"):
        OneEuroConfig(min_cutoff_hz=0.0)
