"""Zero-phase Butterworth on known signals: attenuation against theory, no lag, NaN runs, bad input."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.filtering import butterworth_filter
from mocap.filtering.butterworth import MIN_RUN, pass_cutoff_hz

FPS = 100.0


def response(frequency_hz, cutoff_hz=6.0, order=4, two_pass_cutoff=True, seconds=20.0):
    """Measured gain (dB) and phase (degrees) of the filter for a steady sinusoid, away from the edges."""
    t = np.arange(int(seconds * FPS)) / FPS
    signal = np.sin(2 * np.pi * frequency_hz * t + 0.3)
    out = butterworth_filter(signal[:, None], FPS, cutoff_hz, order, two_pass_cutoff=two_pass_cutoff)[:, 0]
    middle = slice(len(t) // 4, 3 * len(t) // 4)
    basis = np.stack([np.sin(2 * np.pi * frequency_hz * t), np.cos(2 * np.pi * frequency_hz * t)], axis=1)[middle]
    a_in, *_ = np.linalg.lstsq(basis, signal[middle], rcond=None)
    a_out, *_ = np.linalg.lstsq(basis, out[middle], rcond=None)
    gain = 20 * np.log10(np.hypot(*a_out) / np.hypot(*a_in))
    phase = np.degrees(np.arctan2(a_out[1], a_out[0]) - np.arctan2(a_in[1], a_in[0]))
    return gain, phase


def theory_db(frequency_hz, cutoff_hz=6.0, order=4, two_pass_cutoff=True):
    """Two passes of a bilinear Butterworth: 2 x 10 log10(1 / (1 + (W / Wp)^(2n))), W = tan(pi f / fs)."""
    design = pass_cutoff_hz(cutoff_hz, FPS, order) if two_pass_cutoff else cutoff_hz
    ratio = np.tan(np.pi * frequency_hz / FPS) / np.tan(np.pi * design / FPS)
    return 2 * 10 * np.log10(1 / (1 + ratio ** (2 * order)))


@pytest.mark.parametrize("order", [2, 4])
def test_attenuation_at_the_cutoff_matches_theory_without_phase_lag(order):
    gain, phase = response(6.0, order=order)
    assert gain == pytest.approx(-3.01, abs=0.5)  # the bound
    assert gain == pytest.approx(theory_db(6.0, order=order), abs=0.05)
    assert abs(phase) < 0.5
    per_pass, _ = response(6.0, order=order, two_pass_cutoff=False)
    assert per_pass == pytest.approx(-6.02, abs=0.5)


@pytest.mark.parametrize("frequency", [1.0, 3.0, 9.0, 15.0])
def test_response_follows_theory_across_frequencies(frequency):
    gain, phase = response(frequency)
    assert gain == pytest.approx(theory_db(frequency), abs=0.1)
    if gain > -40:
        assert abs(phase) < 0.5


def test_missing_samples_split_the_signal_and_stay_missing(rng):
    t = np.arange(400) / FPS
    signal = np.stack([np.sin(2 * np.pi * 2 * t), np.cos(2 * np.pi * 3 * t), t], axis=1) + rng.normal(0, 0.05, (400, 3))
    signal[150:160] = np.nan
    signal[300, 1] = np.nan  # one component missing makes the whole sample missing
    signal[397:] = np.nan
    out = butterworth_filter(signal, FPS, 6.0)
    missing = np.any(np.isnan(signal), axis=1)
    assert np.array_equal(np.any(np.isnan(out), axis=1), missing)
    np.testing.assert_allclose(out[:150], butterworth_filter(signal[:150], FPS, 6.0), atol=1e-12)
    np.testing.assert_allclose(out[160:300], butterworth_filter(signal[160:300], FPS, 6.0), atol=1e-12)


def test_short_runs_are_left_alone_and_shapes_are_kept(rng):
    series = rng.normal(size=(50, 2, 3, 3))
    series[10 : 10 + MIN_RUN + 1] = np.nan
    series[10 + MIN_RUN + 1 : 10 + MIN_RUN + 1 + MIN_RUN - 1, 0, 0] = 7.0
    series[10 + MIN_RUN + 1 + MIN_RUN - 1, 0, 0] = np.nan
    out = butterworth_filter(series, 30.0, 5.0)
    assert out.shape == series.shape
    short = slice(10 + MIN_RUN + 1, 10 + MIN_RUN + 1 + MIN_RUN - 1)
    np.testing.assert_array_equal(out[short, 0, 0], series[short, 0, 0])


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="cutoff must be in"):
        butterworth_filter(np.zeros((20, 3)), 30.0, 15.0)
    assert pass_cutoff_hz(14.9, 30.0, 4) < 15.0  # the two-pass correction never crosses Nyquist
    with pytest.raises(ValueError, match="fps must be a positive"):
        butterworth_filter(np.zeros((20, 3)), 0.0, 5.0)
    with pytest.raises(ShapeError, match="series"):
        butterworth_filter(np.zeros(20), 30.0, 5.0)
    assert np.isnan(butterworth_filter(np.full((20, 3), np.nan), 30.0, 5.0)).all()
