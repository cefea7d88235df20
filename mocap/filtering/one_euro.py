"""The one-euro filter (Casiez, Roussel & Vogel, CHI 2012): online smoothing for live skeletons.

An exponential low-pass whose cutoff rises with speed: slow motion is smoothed hard (little
jitter), fast motion lightly (little lag). Per joint, with ``dt`` the time since its last sample::

    alpha(fc) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat    = lowpass(alpha(d_cutoff), (x - x_hat_prev) / dt)       # smoothed velocity vector
    fc        = min_cutoff + beta * |dx_hat|                           # |.|: speed of the joint
    x_hat     = lowpass(alpha(fc), x)

The speed is the norm of the joint's velocity vector (all C components share one cutoff, so a
3D point is smoothed the same way in every direction).

Lag (documented bound, checked by the tests): on a ramp of speed ``v`` sampled every ``dt``, the
output settles to trail the input by a constant distance ``L``. The velocity is estimated against
the previous *smoothed* value (as in the reference implementation), so in that steady state it
reads ``v + L / dt`` and ``L`` solves ``L = v / (2 pi (min_cutoff + beta (v + L / dt)))``. Hence
``L < v / (2 pi min_cutoff)`` — a time lag under ``1 / (2 pi min_cutoff)`` seconds — and
``L < 1 / (2 pi beta)`` in distance (metres for metre inputs) whatever the speed. Example at
30 fps, ``min_cutoff = 1 Hz, beta = 0.5``: 0.064 m (64 ms) at 1 m/s; never more than 0.16 s or 0.32 m.

Missing samples (NaN) give NaN out and leave the state alone; a joint whose last sample is older
than ``reset_after_s`` starts afresh (no smoothing across long dropouts).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.arrays import as_float64
from calibration.errors import ShapeError


class OneEuroConfig(BaseModel):
    """Parameters of the one-euro filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_cutoff_hz: float = Field(1.0, gt=0, description="Cutoff at rest, Hz: lower = smoother and laggier when slow.")
    beta: float = Field(0.5, ge=0, description="Cutoff increase per unit of speed (Hz per m/s): higher = less lag.")
    d_cutoff_hz: float = Field(1.0, gt=0, description="Cutoff of the velocity estimate, Hz.")
    reset_after_s: float = Field(0.5, gt=0, description="A joint unseen this long restarts without smoothing.")


def _alpha(cutoff_hz: NDArray[np.float64], dt: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * cutoff_hz * dt))


class OneEuroFilter:
    """Online one-euro filter over a fixed set of points (e.g. all joints of a person).

    Call it with each new sample ``(..., C)`` and its time in seconds; it returns the smoothed
    sample. The state holds, per point, the last smoothed value, velocity and time.
    """

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        self._value: NDArray[np.float64] | None = None
        self._velocity: NDArray[np.float64] | None = None
        self._time: NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget every point's history."""
        self._value = self._velocity = self._time = None

    def __call__(self, sample: ArrayLike, time_s: float) -> NDArray[np.float64]:
        """Smooth one sample.

        Args:
            sample: (..., C) values at ``time_s``; a point with any NaN component is missing.
            time_s: time of the sample, seconds; must increase from call to call.

        Returns:
            (..., C) float64 smoothed values; NaN where the sample is missing.

        Raises:
            ShapeError: the sample's shape differs from the first one's.
            ValueError: time does not increase for a point that was seen before.
        """
        x = as_float64("sample", sample, (..., None))
        if x.ndim == 0:
            raise ShapeError("sample", "shape (..., C)", "a scalar")
        if self._value is None or self._velocity is None or self._time is None:
            self._value = np.full(x.shape, np.nan)
            self._velocity = np.zeros(x.shape)
            self._time = np.full(x.shape[:-1], -np.inf)
        if x.shape != self._value.shape:
            raise ShapeError("sample", f"shape {self._value.shape} (as the first sample)", f"shape {x.shape}")
        c = self.config
        present = np.all(np.isfinite(x), axis=-1)
        dt = time_s - self._time
        fresh = present & ~(dt <= c.reset_after_s)  # never seen, or unseen for too long
        update = present & ~fresh
        if np.any(update & ~(dt > 0)):
            raise ValueError(f"sample times must increase; got {time_s} s after {float(np.max(self._time)):g} s")
        out = np.full(x.shape, np.nan)
        if np.any(fresh):
            self._value[fresh] = x[fresh]
            self._velocity[fresh] = 0.0
            out[fresh] = x[fresh]
        if np.any(update):
            step = dt[update][:, None]
            previous = self._value[update]
            a_d = _alpha(np.full(step.shape, c.d_cutoff_hz), step)
            velocity = a_d * (x[update] - previous) / step + (1.0 - a_d) * self._velocity[update]
            cutoff = c.min_cutoff_hz + c.beta * np.linalg.norm(velocity, axis=-1, keepdims=True)
            a = _alpha(cutoff, step)
            smoothed = a * x[update] + (1.0 - a) * previous
            self._value[update] = smoothed
            self._velocity[update] = velocity
            out[update] = smoothed
        self._time[present] = time_s
        return out


def one_euro_filter(series: ArrayLike, fps: float, config: OneEuroConfig | None = None) -> NDArray[np.float64]:
    """Run the online filter over a recorded series (T, ..., C) sampled at ``fps`` (causal, as live)."""
    values = as_float64("series", series, (..., None))
    if values.ndim < 2:
        raise ShapeError("series", "shape (T, ..., C)", f"shape {values.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    smoother = OneEuroFilter(config)
    return np.stack([smoother(values[t], t / fps) for t in range(values.shape[0])])
