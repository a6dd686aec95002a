"""Local HTTP receivers for notification tests: a server on the loopback, in a thread of its
own, that records every POST and answers as the test says (a status per request, then a
default), or holds a request until the test releases it. The ``receivers`` fixture
(tests/conftest.py) starts them and shuts every one down after the test."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How long a held request waits for the test at most: a test that forgets to release it
# still ends.
HOLD_LIMIT_SECONDS = 60.0


@dataclass
class Post:
    """One request the receiver got: its path, headers, body, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server answers and what it got. ``statuses``: the answers to the next
    requests, in order; then ``otherwise``. With ``hold`` set, a request waits (after
    ``arrived`` is set) until ``release`` is."""

    statuses: list[int] = field(default_factory=list)
    otherwise: int = 202
    hold: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    posts: list[Post] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[Post]:
        """The requests answered with a 2xx status: what the receiver took in."""
        return [p for p in self.posts if 200 <= p.status < 300]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if self.hold:
            self.arrived.set()
            self.release.wait(HOLD_LIMIT_SECONDS)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.otherwise
            self.posts.append(Post(path, headers, body, status))
        return status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.answer(self.path, dict(self.headers), body)
            with contextlib.suppress(OSError):  # the client may have given up waiting
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass  # quiet: the test reads what it needs from the receiver

    return Handler


@contextlib.contextmanager
def serving() -> Iterator[Any]:
    """A function that starts a receiver (keyword arguments: :class:`Receiver`'s) and
    returns it, its ``url`` set; every receiver started is released and shut down at the
    end of the block."""
    started: list[tuple[Receiver, ThreadingHTTPServer, threading.Thread]] = []

    def start(**options: Any) -> Receiver:
        receiver = Receiver(**options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
        thread.start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        started.append((receiver, server, thread))
        return receiver

    try:
        yield start
    finally:
        for receiver, server, thread in started:
            receiver.release.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
