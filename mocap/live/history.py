"""The last N frame sets' numbers (latency, stage milliseconds) in a preallocated ring.

Statistics over a live run must not grow with its length: the rows live in one array allocated
at the start and overwritten oldest first, so a ten-minute run holds exactly what a ten-second
one holds once it is full. Not thread-safe by itself (the engine holds its lock around it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray


class History:
    """Rows of named float columns, keeping the last ``capacity`` (missing values NaN).

    Args:
        capacity: rows kept.
        columns: column names.
    """

    def __init__(self, capacity: int, columns: Sequence[str]) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.columns = tuple(columns)
        self._rows = np.full((capacity, len(self.columns)), np.nan)
        self._count = 0

    def __len__(self) -> int:
        return min(self._count, len(self._rows))

    def append(self, values: Mapping[str, float]) -> None:
        """Add one row; columns not in ``values`` are NaN, names not in the columns are ignored."""
        self._rows[self._count % len(self._rows)] = [values.get(name, np.nan) for name in self.columns]
        self._count += 1

    def column(self, name: str) -> NDArray[np.float64]:
        """The kept finite values of column ``name`` (a copy, in no particular order).

        Raises:
            KeyError: no such column.
        """
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns)}")
        values = self._rows[: len(self), self.columns.index(name)]
        return values[np.isfinite(values)].copy()
