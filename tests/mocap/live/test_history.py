"""History: a fixed-size ring of per-frame-set numbers."""

import numpy as np
import pytest

from mocap.live.history import History


def test_the_ring_keeps_the_last_rows_and_never_grows():
    history = History(4, ("latency_s", "detect"))
    for k in range(10):
        history.append({"latency_s": float(k), "detect": 2.0 * k} if k % 2 else {"latency_s": float(k)})
    assert len(history) == 4
    assert sorted(history.column("latency_s").tolist()) == [6.0, 7.0, 8.0, 9.0]
    assert sorted(history.column("detect").tolist()) == [14.0, 18.0]  # missing values are left out
    assert history._rows.shape == (4, 2)
    with pytest.raises(ValueError, match="capacity"):
        History(0, ("a",))
    with pytest.raises(KeyError, match="no column 'nope'"):
        history.column("nope")


def test_an_empty_history_has_empty_columns():
    assert History(3, ("a",)).column("a").size == 0
    assert np.isnan(History(3, ("a",))._rows).all()
