"""Terminal progress bars for progress generators (see :mod:`calibration.progress`)."""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any, TypeVar

from calibration.progress import Progress

T = TypeVar("T")


def run_with_bar(operation: Generator[Progress, None, T], *, enabled: bool | None = None) -> T:
    """Drive ``operation`` to its end, drawing one tqdm bar per stage on stderr; return its result.

    Bars are drawn when stderr is a terminal (or ``enabled`` is True); otherwise one line per stage
    is printed so logs stay readable.
    """
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    bar: Any = None
    stage = None
    try:
        while True:
            try:
                report = next(operation)
            except StopIteration as stop:
                return stop.value
            if report.stage != stage:
                if bar is not None:
                    bar.close()
                stage = report.stage
                if show:
                    bar = tqdm(total=report.total, desc=stage, unit="", file=sys.stderr, leave=True)
                else:
                    total = f" ({report.total})" if report.total else ""
                    print(f"{stage}{total} ...", file=sys.stderr, flush=True)
            if bar is not None:
                if report.total is not None and bar.total != report.total:
                    bar.total = report.total
                bar.n = report.done
                bar.set_postfix_str(report.message, refresh=False)
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
