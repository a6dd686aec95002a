"""A command in a pseudo-terminal, seen as a person sees it: through a terminal emulator.

:class:`Terminal` spawns a command attached to a fresh pseudo-terminal of a given size,
reads everything it writes on a thread of its own (a full pty buffer would block the
child, so output is drained at all times, whatever the caller does) and feeds it, in
order, through pyte's VT100 emulator. The caller waits for the emulated screen to show
something (:meth:`Terminal.wait_for`), presses keys (:meth:`Terminal.send`) and ends the
command (:meth:`Terminal.close`).

Times are taken when the bytes arrive, not when the emulator has digested them: a chunk
read from the pty is stamped with ``time.perf_counter()`` at once, and when the screen
first satisfies a condition after a chunk, the condition held from that chunk's stamp on.
The emulator's own speed (pure Python) is not charged to the command.

The emulated terminal supports synchronized output (DEC private mode 2026), as most
current terminals do: it answers the command's query for the mode, and a command that
then brackets each frame with the mode's begin and end (Textual does) has its screen
judged only on whole frames, as such a terminal shows them. Without the brackets (before
the answer is read, or a command that never asks), the screen is judged after every chunk.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pyte

# What a terminal sends for the keys the benchmark presses.
ENTER = b"\r"
ESCAPE = b"\x1b"
UP, DOWN, RIGHT, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D"

TICKS = os.sysconf("SC_CLK_TCK")
# Synchronized output: begin and end of a frame, and a program's question whether the
# terminal knows a DEC private mode (DECRQM), answered with DECRPM.
FRAME_BEGIN, FRAME_END = b"\x1b[?2026h", b"\x1b[?2026l"
MODE_QUERY = re.compile(rb"\x1b\[\?(\d+)\$p")
SYNCHRONIZED_OUTPUT = 2026
QUERY_ROOM = 16  # bytes of one chunk kept to find a query split across two
SWITCH_INTERVAL = 0.0005  # seconds: how long the reader may wait for the GIL


class ScreenTimeout(RuntimeError):
    """The screen never showed what was waited for; the message ends with the last screen."""


class Terminal:
    """``argv`` running in a ``columns`` × ``rows`` pseudo-terminal (TERM=xterm-256color),
    in a session of its own, its output emulated. :attr:`started` is the
    ``time.perf_counter()`` just before the spawn. ``env`` adds to this process's
    environment (``None`` removes a variable). With ``synchronized`` False the terminal
    does not answer the query for synchronized output (a plain VT100). Use as a context
    manager, or call :meth:`close`. While it is open, this process switches threads every
    half millisecond (:func:`sys.setswitchinterval`), so a chunk is stamped without waiting
    for the thread that feeds the emulator."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        columns: int = 120,
        rows: int = 40,
        env: Mapping[str, str | None] | None = None,
        synchronized: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.synchronized = synchronized
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.arrived: collections.deque[tuple[float, bytes]] = collections.deque()
        self.wakeup = threading.Condition()
        self.ended = False  # the reader has seen the end of the output
        self.in_frame = False  # between a frame's begin and end (synchronized output)
        self.frames = 0  # whole frames seen (synchronized output)
        self.held = b""  # the end of a chunk that may be the start of a frame marker
        self.last_change = 0.0  # perf_counter stamp of the latest chunk fed
        self.closed = False
        # Set to a list to keep every chunk fed, with its stamp (to replay it, frame by frame).
        self.log: list[tuple[float, bytes]] | None = None
        master, slave = pty.openpty()
        # The size is set before the spawn: the child's first look at its terminal sees it.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        environment = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(columns),
            "LINES": str(rows),
        }
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        self.master = master
        # The reader stamps a chunk once it holds the GIL again: switch threads often.
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval, SWITCH_INTERVAL))
        try:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=environment,
                close_fds=True,
                # Its own process group: closing ends whatever it started, too.
                start_new_session=True,
            )
        except BaseException:
            os.close(master)
            sys.setswitchinterval(self.switch_interval)
            raise
        finally:
            os.close(slave)  # the child has its copies: the read ends when it has gone
        self.reader = threading.Thread(target=self._drain, name="pty-reader", daemon=True)
        self.reader.start()

    # --- output ----------------------------------------------------------------------------

    def _drain(self) -> None:
        """The reader thread: every chunk as soon as it can be read, stamped, queued; the
        terminal's answers to mode queries written back at once, as a terminal would."""
        tail = b""
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every process holding the terminal has gone
                chunk = b""
            stamp = time.perf_counter()
            with self.wakeup:
                if chunk:
                    self.arrived.append((stamp, chunk))
                else:
                    self.ended = True
                self.wakeup.notify_all()
            if not chunk:
                return
            seen = tail + chunk
            for query in MODE_QUERY.finditer(seen):
                if query.end() > len(tail):  # not answered with the previous chunk
                    self._answer(int(query[1]))
            tail = seen[-QUERY_ROOM:]

    def _answer(self, mode: int) -> None:
        # DECRPM: 2 is "reset" (known, off until the program sets it), 0 "not recognized".
        known = self.synchronized and mode == SYNCHRONIZED_OUTPUT
        with contextlib.suppress(OSError):  # gone meanwhile
            self.send(b"\x1b[?%d;%d$y" % (mode, 2 if known else 0))

    def _take(self, deadline: float) -> tuple[float, bytes] | None:
        """The next chunk that arrived, waiting for one until ``deadline``; None when none
        came by then or the output has ended."""
        with self.wakeup:
            while not self.arrived:
                remaining = deadline - time.perf_counter()
                if self.ended or remaining <= 0:
                    return None
                self.wakeup.wait(remaining)
            return self.arrived.popleft()

    def _feed(self, stamp: float, chunk: bytes) -> Iterator[None]:
        """Feed one chunk to the emulator, pausing (yielding) at each moment the screen is
        shown as it is: the end of each whole frame in the chunk, and its end when no frame
        is being drawn. The caller judges the screen at each pause."""
        if self.log is not None:
            self.log.append((stamp, chunk))
        self.last_change = stamp
        data, self.held = self.held + chunk, b""
        position = 0
        while True:
            begin = data.find(FRAME_BEGIN, position)
            end = data.find(FRAME_END, position)
            if self.in_frame and end >= 0:
                cut = end + len(FRAME_END)
                self.stream.feed(data[position:cut])
                position, self.in_frame = cut, False
                self.frames += 1
                yield
            elif not self.in_frame and begin >= 0:
                cut = begin + len(FRAME_BEGIN)
                self.stream.feed(data[position:cut])
                position, self.in_frame = cut, True
            else:
                break
        rest = data[position:]
        # A marker cut in two by the pty: keep its start until the next chunk.
        escape = rest.rfind(b"\x1b", max(0, len(rest) - len(FRAME_BEGIN) + 1))
        if escape >= 0 and any(m.startswith(rest[escape:]) for m in (FRAME_BEGIN, FRAME_END)):
            rest, self.held = rest[:escape], rest[escape:]
        self.stream.feed(rest)
        if not self.in_frame:
            yield

    def _consume(self, stamp: float, chunk: bytes) -> None:
        for _ in self._feed(stamp, chunk):
            pass

    def catch_up(self) -> None:
        """Feed the emulator whatever has arrived so far."""
        while (item := self._take(0.0)) is not None:
            self._consume(*item)

    @property
    def text(self) -> str:
        """The emulated screen, one line per row."""
        return "\n".join(self.screen.display)

    def wait_for(
        self,
        condition: Callable[[str], bool],
        timeout: float,
        what: str = "the expected screen",
    ) -> float:
        """The ``perf_counter`` stamp of the chunk with which the screen's text, as shown,
        first satisfied ``condition`` (judged on the screen as it is first, then at each
        moment it is shown). Raises :class:`ScreenTimeout`, with the last screen, if it
        does not within ``timeout`` seconds or the command ends first."""
        deadline = time.perf_counter() + timeout
        if not self.in_frame and condition(self.text):
            return self.last_change
        while (item := self._take(deadline)) is not None:
            shown = False
            for _ in self._feed(*item):
                # Once shown, the rest of the chunk is fed all the same: the screen keeps up.
                shown = shown or condition(self.text)
            if shown:
                return item[0]
        ending = "the command ended" if self.ended else f"{timeout:.0f} s passed"
        raise ScreenTimeout(f"{ending} before the screen showed {what}:\n{self.dump()}")

    def wait_settled(
        self, quiet: float, timeout: float, cpu_below: float, *, silent: bool = True
    ) -> float:
        """Wait until the command has settled: for ``quiet`` seconds its process used less
        than ``cpu_below`` of a core (read from /proc) and, if ``silent``, drew nothing.
        Output goes on being fed meanwhile. Returns the seconds waited."""
        began = time.perf_counter()
        deadline = began + timeout
        since, cpu = began, self.cpu_seconds()  # the window being judged
        while True:
            now = time.perf_counter()
            if now > deadline:
                raise ScreenTimeout(
                    f"the command did not settle ({quiet} s under {cpu_below:.0%} of a core"
                    f"{', drawing nothing' if silent else ''}) within {timeout:.0f} s:\n"
                    f"{self.dump()}"
                )
            item = self._take(min(deadline, since + quiet))
            if item is not None:
                self._consume(*item)
                if silent:
                    since, cpu = time.perf_counter(), self.cpu_seconds()
                continue
            if self.ended:
                raise ScreenTimeout(f"the command ended while settling:\n{self.dump()}")
            now = time.perf_counter()
            if now - since < quiet:
                continue
            used = self.cpu_seconds()
            if (used - cpu) / (now - since) < cpu_below:
                return now - began
            since, cpu = now, used

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the command's process has used so far; 0 once gone."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()  # from field 3 on: comm may hold anything
        return (int(fields[11]) + int(fields[12])) / TICKS

    def dump(self) -> str:
        """The screen as it is now, framed, for error messages."""
        rule = "-" * self.screen.columns
        return f"{rule}\n{self.text}\n{rule}"

    # --- input -------------------------------------------------------------------------------

    def send(self, keys: bytes) -> float:
        """Type ``keys`` (bytes as a terminal sends them); the ``perf_counter`` just before
        they were written."""
        stamp = time.perf_counter()
        view = memoryview(keys)
        while view:
            written = os.write(self.master, view)
            view = view[written:]
        return stamp

    # --- the end -----------------------------------------------------------------------------

    def close(self, quit_keys: bytes | None = None, grace: float = 5.0) -> int | None:
        """End the command: type ``quit_keys`` first if given and wait up to ``grace``
        seconds for it to exit; then SIGTERM its process group, and SIGKILL what is left
        a second later. Reaps it and closes the terminal. Returns its exit status."""
        process = self.process
        if self.closed:
            return process.returncode
        self.closed = True
        if quit_keys and process.poll() is None:
            try:
                self.send(quit_keys)
                process.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
            if not self._group_alive():
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            ends = time.perf_counter() + wait
            while self._group_alive() and time.perf_counter() < ends:
                time.sleep(0.01)
        status = process.wait()
        self.reader.join(timeout=5)
        if not self.reader.is_alive():
            os.close(self.master)
        sys.setswitchinterval(self.switch_interval)
        return status

    def _group_alive(self) -> bool:
        """Whether the command or anything it started (its process group) still runs."""
        if self.process.poll() is None:
            return True
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
