"""Child processes for tests: each starts in a session of its own and is killed with its
whole process group when it outlives its timeout, so nothing it started survives it; and a
check, when the run ends, that the suite left no process running.

Use :func:`run` instead of ``subprocess.run`` and :func:`running` instead of
``subprocess.Popen`` in tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# Every process the suite starts inherits this variable, whatever session or parent it
# ends up with: the end-of-run check finds a daemon that detached itself by it.
RUN_MARK = "COCKPIT_TEST_RUN"

# The sessions started here (a session's id is the pid of its leader), with the test that
# started each: a grandchild whose parent died is found by its session.
SESSIONS: dict[int, str] = {}

_PROC = Path("/proc")


def popen(args: Sequence[str | os.PathLike[str]], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` in a new session (so its process group holds it and everything
    it starts); the caller waits for it or kills it with :func:`kill_group`."""
    process = subprocess.Popen(args, start_new_session=True, **kwargs)
    SESSIONS[process.pid] = os.environ.get("PYTEST_CURRENT_TEST", "?")
    return process


def kill_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL for the process's whole group: the child and whatever it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def communicate(
    process: subprocess.Popen[Any], input: Any = None, *, timeout: float
) -> tuple[Any, Any]:
    """``process.communicate`` within ``timeout`` seconds; past it, the process group is
    killed and ``subprocess.TimeoutExpired`` raised with whatever output there was."""
    try:
        return process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        kill_group(process)
        # Bounded: a descendant in a session of its own could still hold the pipes open.
        with contextlib.suppress(subprocess.TimeoutExpired):
            expired.stdout, expired.stderr = process.communicate(timeout=10)
        raise
    except BaseException:
        kill_group(process)
        raise


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    input: Any = None,
    capture_output: bool = False,
    check: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` in a new session, with a timeout that is required and that kills
    the process group, not only the child."""
    if input is not None:
        kwargs.setdefault("stdin", subprocess.PIPE)
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    with popen(args, **kwargs) as process:
        stdout, stderr = communicate(process, input, timeout=timeout)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


@contextlib.contextmanager
def running(
    args: Sequence[str | os.PathLike[str]], **kwargs: Any
) -> Iterator[subprocess.Popen[Any]]:
    """A process for the length of the ``with`` block, in a new session; when the block
    ends, whatever is left of its process group is killed."""
    process = popen(args, **kwargs)
    try:
        with process:
            yield process
    finally:
        kill_group(process)
        process.wait()


# --- what the suite left running --------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent, process group, session) of a process, None once it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may itself contain spaces and parentheses.
    state, parent, group, session = text[text.rindex(")") + 2 :].split()[:4]
    return state, int(parent), int(group), int(session)


def _read(pid: int, name: str) -> bytes:
    try:
        return (_PROC / str(pid) / name).read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that still runs (a zombie has ended)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX"


def command_line(pid: int) -> str:
    return _read(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


def _interpreter_helper(command: str) -> bool:
    # multiprocessing's resource tracker and fork server serve the interpreter that
    # started them and end with it, after this check: they are not leaks.
    return "multiprocessing.resource_tracker" in command or "multiprocessing.forkserver" in command


def leftovers(root: int, sessions: dict[int, str], mark: str | None) -> dict[int, str]:
    """Processes still running, other than ``root``, that descend from ``root``, belong to
    one of ``sessions``, or carry ``RUN_MARK=mark`` in their environment: pid -> a line
    saying what each is. Empty where there is no /proc to read."""
    if not (_PROC / "self" / "stat").exists():
        return {}
    table = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (_state, parent, _group, _session) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, str] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found[pid] = "a descendant of the test run"
        stack.extend(children.get(pid, []))
    needle = f"\0{RUN_MARK}={mark}\0".encode() if mark else None
    for pid, (_state, _parent, _group, session) in table.items():
        if pid in found or pid == root:
            continue
        if session in sessions:
            found[pid] = f"in the session started by {sessions[session]}"
        elif needle is not None and needle in b"\0" + _read(pid, "environ"):
            found[pid] = "started by the test run (its environment says so)"
    out = {}
    for pid, why in found.items():
        command = command_line(pid)
        if table[pid][0] not in "ZX" and not _interpreter_helper(command):
            out[pid] = f"pid {pid} ({why}): {command or '?'}"
    return out


def kill_leftovers(found: dict[int, str]) -> None:
    own_group = os.getpgrp()
    for pid in found:
        stat = _stat(pid)
        if stat is None:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if stat[2] not in (own_group, 0):
                os.killpg(stat[2], signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)


def check_leftovers(grace: float = 5.0) -> dict[int, str]:
    """What the run left running (after ``grace`` seconds for processes on their way out),
    killed before this returns."""
    mark = os.environ.get(RUN_MARK)
    deadline = time.monotonic() + grace
    while (found := leftovers(os.getpid(), SESSIONS, mark)) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling /proc for a condition, bounded by the grace period
    kill_leftovers(found)
    return found


# --- the end-of-run check: a fixture and a hook, imported by conftest.py --------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    os.environ[RUN_MARK] = f"{os.getpid()}-{time.time_ns()}"


@pytest.fixture(scope="session", autouse=True)
def no_process_left_running() -> Iterator[None]:
    """After the run's last test (in each worker, when the run is spread over several):
    whatever the tests left running is killed, and the run fails with an error naming it."""
    yield
    found = check_leftovers()
    if found:
        heading = f"The tests left {len(found)} process(es) running; they were killed:"
        pytest.fail("\n".join([heading, *found.values()]), pytrace=False)
