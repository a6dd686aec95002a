"""Background work that runs one at a time, and once more after if it was asked for meanwhile."""

from __future__ import annotations

from collections.abc import Callable


class OneAtATime:
    """The state of a piece of background work (a refresh, a forecasting run, a delivery)
    that never runs twice at once. Asked for while it runs, it runs again once the run ends:
    once, however often it was asked meanwhile, so that the last request is always served
    and requests never pile up.

    The owner asks :meth:`begin` before starting a run and calls :meth:`end` when the run is
    over, whether it succeeded or failed. The run asked for meanwhile starts through
    ``again``: the owner's own request, so that what it checks first (paused? viewing the
    past?) is checked again then."""

    def __init__(self, again: Callable[[], object]) -> None:
        self.again = again
        self.running = False
        self.asked_again = False

    def begin(self) -> bool:
        """Whether the caller is to start a run now. If one is running, it is not: the
        work is marked to run again after it."""
        if self.running:
            self.asked_again = True
            return False
        self.running = True
        return True

    def end(self, *, rerun: bool = True) -> bool:
        """The run is over (done or failed): the next may start. If it was asked for
        meanwhile it starts now, unless ``rerun`` is false (say, the cockpit is quitting:
        the request is dropped); returns whether it did."""
        self.running = False
        asked, self.asked_again = self.asked_again, False
        if not (asked and rerun):
            return False
        self.again()
        return True
