"""The job runner: results, progress, errors, cancellation and stale answers, off the GUI thread."""

from __future__ import annotations

import threading

import pytest

from calibration.progress import Progress, check_cancelled
from mocap.errors import MismatchError

pytestmark = pytest.mark.gui


def test_result_comes_back_on_the_gui_thread_and_work_runs_elsewhere(qtbot, jobs):
    gui_thread = threading.get_ident()
    seen = {}

    def work(_cancel):
        seen["worker"] = threading.get_ident()
        return 41 + 1

    def on_result(value):
        seen["value"] = value
        seen["callback"] = threading.get_ident()

    with qtbot.waitSignal(jobs.finished, timeout=5000):
        jobs.submit("c", "answer", work, on_result=on_result)
    assert seen["value"] == 42
    assert seen["worker"] != gui_thread
    assert seen["callback"] == gui_thread


def test_progress_generator_reports_and_returns(qtbot, jobs):
    reports = []

    def work(cancel):
        def operation():
            for i in range(3):
                check_cancelled(cancel)
                yield Progress("counting", i + 1, 3)
            return "done"

        return operation()

    results = []
    with qtbot.waitSignal(jobs.finished, timeout=5000):
        jobs.submit("c", "count", work, on_result=results.append, on_progress=reports.append)
    assert results == ["done"]
    assert reports[-1] == Progress("counting", 3, 3)  # the last of a stage is always delivered


def test_errors_become_one_readable_line(qtbot, jobs):
    messages = []

    def mismatch(_cancel):
        raise MismatchError("cameras differ: a, b")

    with qtbot.waitSignal(jobs.failed, timeout=5000) as blocker:
        jobs.submit("c", "checking", mismatch, on_error=messages.append)
    assert messages == ["cameras differ: a, b"]
    assert blocker.args[1] == "cameras differ: a, b"

    def crash(_cancel):
        raise ZeroDivisionError("division by zero\nsecond line")

    with qtbot.waitSignal(jobs.failed, timeout=5000) as blocker:
        jobs.submit("c", "dividing", crash)
    assert blocker.args[1] == "dividing: ZeroDivisionError: division by zero"


def test_cancel_stops_a_running_job(qtbot, jobs):
    started = threading.Event()
    cancelled = []

    def work(cancel):
        def operation():
            started.set()
            while True:
                check_cancelled(cancel)
                yield Progress("spinning", 0, None)

        return operation()

    handle = jobs.submit("c", "spin", work, on_cancelled=lambda: cancelled.append(True))
    assert started.wait(5)
    with qtbot.waitSignal(jobs.cancelled, timeout=5000):
        handle.cancel()
    assert cancelled == [True]
    assert not jobs.busy


def test_newer_request_on_a_channel_drops_the_older_answer(qtbot, jobs):
    release = threading.Event()
    answers = []

    def slow(_cancel):
        release.wait(5)
        return "old"

    jobs.submit("frames", "old", slow, on_result=answers.append)
    with qtbot.waitSignal(jobs.finished, timeout=5000):
        jobs.submit("frames", "new", lambda _c: "new", on_result=answers.append)
    release.set()
    jobs.wait(5000)
    qtbot.wait(20)
    assert answers == ["new"]  # the old answer arrived later and was dropped
    assert not jobs.busy


def test_other_channels_are_not_stale(qtbot, jobs):
    answers = []
    jobs.submit("a", "a", lambda _c: "a", on_result=answers.append)
    jobs.submit("b", "b", lambda _c: "b", on_result=answers.append)
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=5000)
    assert sorted(answers) == ["a", "b"]
