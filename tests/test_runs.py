"""One run at a time: a request made while a run is in flight is served by exactly one more
run after it; a run that fails does not block the next."""

from __future__ import annotations

import pytest

from intelligentos.tui.runs import OneAtATime


class Work:
    """Background work as an owner drives it: a request starts a run unless one is in
    flight; the test ends runs (done or failed) when it likes."""

    def __init__(self) -> None:
        self.runs = OneAtATime(self.request)
        self.started = 0
        self.requests = 0

    def request(self) -> None:
        self.requests += 1
        if self.runs.begin():
            self.started += 1


def test_a_request_while_running_is_served_by_one_run_after():
    work = Work()
    work.request()
    assert work.started == 1 and work.runs.running
    for _ in range(5):  # asked again and again meanwhile
        work.request()
    assert work.started == 1
    assert work.runs.end() is True  # the run that was asked for starts now
    assert work.started == 2 and work.runs.running
    assert work.runs.end() is False  # and nothing was asked during that one
    assert work.started == 2 and not work.runs.running


def test_no_run_after_when_none_was_asked_for():
    work = Work()
    work.request()
    assert work.runs.end() is False
    assert (work.started, work.requests) == (1, 1)
    assert not work.runs.running


def test_a_failed_run_does_not_block_the_next():
    work = Work()

    def run_that_fails() -> None:
        try:
            raise RuntimeError("the store went away")
        finally:
            work.runs.end()  # the owner's failure path ends the run too

    work.request()
    with pytest.raises(RuntimeError):
        run_that_fails()
    assert not work.runs.running
    work.request()
    assert work.started == 2 and work.runs.running


def test_a_failed_run_still_serves_what_was_asked_meanwhile():
    work = Work()
    work.request()
    work.request()  # asked for while the first run is in flight
    assert work.runs.end() is True  # the first run failed: the second starts all the same
    assert work.started == 2


def test_the_rerun_goes_through_the_owners_request():
    """What the owner checks before starting (paused? viewing the past?) is checked for the
    run after too: a rerun the owner declines leaves nothing running."""
    work = Work()
    paused = False

    def request() -> None:
        if paused:
            return
        work.request()

    work.runs = OneAtATime(request)
    request()
    request()
    paused = True
    assert work.runs.end() is True  # the rerun was asked for, and handed to the owner
    assert work.started == 1 and not work.runs.running


def test_quitting_drops_the_run_asked_for():
    work = Work()
    work.request()
    work.request()
    assert work.runs.end(rerun=False) is False
    assert work.started == 1 and not work.runs.running
    work.request()
    assert work.runs.end() is False  # what was asked before quitting is gone
    assert work.started == 2
