"""Gap filling: exact on polynomials, never across long gaps or past the ends."""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.filtering import fill_gaps, find_gaps


def test_find_gaps_ignores_the_ends():
    valid = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 0], dtype=bool)
    assert find_gaps(valid) == [(3, 5), (6, 7)]
    assert find_gaps(np.ones(4, dtype=bool)) == [] and find_gaps(np.zeros(4, dtype=bool)) == []


def test_linear_and_cubic_fills_are_exact_on_their_polynomials():
    t = np.arange(60, dtype=float)
    line = np.stack([2 * t - 3, -t, np.full_like(t, 4.0)], axis=1)
    cubic = np.stack([0.001 * t**3 - 0.02 * t**2 + t, np.sin(0 * t), 0.5 * t], axis=1)
    for series, method in ((line, "linear"), (cubic, "cubic")):
        holed = series.copy()
        holed[[10, 11, 12, 30, 45, 46]] = np.nan
        result = fill_gaps(holed, 3, method)
        np.testing.assert_allclose(result.values, series, atol=1e-9)
        assert result.filled.sum() == 6 and result.filled[[10, 30, 46]].all()


def test_never_fills_longer_gaps_or_the_ends(rng):
    series = rng.normal(size=(500, 4, 3))
    missing = rng.uniform(size=(500, 4)) < 0.3
    series[missing] = np.nan
    series[:5, 0] = np.nan  # a leading run
    series[-3:, 1] = np.nan  # a trailing run
    for method in ("linear", "cubic"):
        result = fill_gaps(series, 2, method)
        for k in range(4):
            valid = ~np.isnan(series[:, k, 0])
            for start, stop in find_gaps(valid):
                expect = stop - start <= 2
                assert result.filled[start:stop, k].all() == expect
                assert np.isfinite(result.values[start:stop, k]).all() == expect
            assert not result.filled[valid, k].any()
        assert not result.filled[:5, 0].any() and np.isnan(result.values[:5, 0]).all()
        assert not result.filled[-3:, 1].any()
        observed = ~np.isnan(series[..., 0])
        np.testing.assert_array_equal(result.values[observed], series[observed])


def test_data_across_a_long_gap_does_not_shape_the_fill():
    t = np.arange(80, dtype=float)
    series = np.stack([np.sin(t / 5), np.cos(t / 7), t / 10], axis=1)
    series[40:60] = np.nan  # long gap
    series[20] = np.nan  # short gap in the first island
    wild = series.copy()
    wild[60:] += 100.0  # the second island changes completely
    a, b = fill_gaps(series, 3, "cubic"), fill_gaps(wild, 3, "cubic")
    np.testing.assert_allclose(a.values[20], b.values[20], atol=1e-12)
    assert np.isnan(a.values[40:60]).all()


def test_a_short_island_falls_back_to_linear():
    series = np.array([[0.0], [np.nan], [2.0], [np.nan] * 1, [np.nan], [np.nan], [np.nan], [9.0]])
    result = fill_gaps(series, 1, "cubic")
    assert result.values[1, 0] == pytest.approx(1.0) and np.isnan(result.values[3:7]).all()


def test_input_is_untouched_and_bad_settings_fail():
    series = np.array([[0.0, 0.0], [np.nan, np.nan], [1.0, 1.0]])
    fill_gaps(series, 1)
    assert np.isnan(series[1]).all()
    with pytest.raises(ValueError, match="max_gap"):
        fill_gaps(series, -1)
    with pytest.raises(ValueError, match="method"):
        fill_gaps(series, 1, "quadratic")  # type: ignore[arg-type]
    with pytest.raises(ShapeError):
        fill_gaps(np.zeros(5), 1)
    assert not fill_gaps(series, 0).filled.any()
