"""Computations in a child process: progress, result, errors, cancel, a dying child."""

from __future__ import annotations

import os
import time

import pytest

from calibration.errors import CancelledError, MissingFileError
from calibration.progress import CancelToken, Progress, check_cancelled, drain
from ui.subprocess_jobs import SubprocessError, in_subprocess


def counting(n, *, scale=1, cancel=None):
    for i in range(n):
        check_cancelled(cancel)
        yield Progress("counting", i + 1, n, str(os.getpid()))
    return [i * scale for i in range(n)]


def failing(kind, *, cancel=None):
    yield Progress("about to fail", 0, 1)
    if kind == "mocap":
        raise MissingFileError("/nowhere/keypoints2d.npz: no such file")
    if kind == "other":
        raise ZeroDivisionError("division by zero\nsecond line")
    os._exit(3)


def sleeping(*, cancel=None):
    while True:
        check_cancelled(cancel)
        time.sleep(0.01)
        yield Progress("waiting", 0, None)


def test_progress_and_result_come_from_another_process():
    reports = []
    operation = in_subprocess(counting, 3, scale=2)
    while True:
        try:
            reports.append(next(operation))
        except StopIteration as done:
            result = done.value
            break
    assert result == [0, 2, 4]
    assert [r.stage for r in reports] == ["starting a worker process", "counting", "counting", "counting"]
    assert reports[-1].done == 3 and reports[-1].message != str(os.getpid())


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("mocap", "/nowhere/keypoints2d.npz: no such file"),
        ("other", "ZeroDivisionError: division by zero"),
        ("die", "the worker process ended without an answer (exit code 3)"),
    ],
)
def test_errors_become_one_line(kind, message):
    with pytest.raises(SubprocessError) as error:
        drain(in_subprocess(failing, kind))
    assert str(error.value) == message


def test_cancel_reaches_the_child():
    token = CancelToken()
    operation = in_subprocess(sleeping, cancel=token)
    next(operation)  # starting
    next(operation)  # the child runs
    token.cancel()
    with pytest.raises(CancelledError):
        drain(operation)
