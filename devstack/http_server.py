"""The loopback HTTP server the emulators and the sample feeds run on: a threaded stdlib server
that hands each request, as an ``HttpRequest``, to an app function and writes back its
``HttpResponse`` (whole, or streamed piece by piece for slow and huge answers)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Written instead of ``body``, piece by piece as the iterator yields (a trickled or huge
    #: answer): with the ``Content-Length`` header when ``headers`` gives one, else chunked. An
    #: iterator that raises ``ConnectionError`` abandons the answer: the connection is closed with
    #: the body unfinished (no final chunk), as when a server dies mid-response.
    stream: Iterable[bytes] | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
        if status == HTTPStatus.NO_CONTENT:
            return cls(status, b"", dict(headers or {}))
        return cls(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHttpServer

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        target = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=unquote(target.path),
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=raw,
        )
        if request.path == CHANGES_PATH and request.method == "GET":
            response = HttpResponse.json(200, {"changes": self.server.changes})
        else:
            response = self.server.app(request)
            if request.method not in ("GET", "HEAD") and response.status < 400:
                self.server.count_change()
        try:
            if response.stream is None:
                self._write_whole(response)
            else:
                self._write_stream(response, response.stream)
        except (ConnectionError, TimeoutError):
            # The client gave up first (its read timeout, e.g. against a held response), or a
            # stream abandoned its answer: what a real server sees as a reset connection, not an
            # error of the emulator. (TimeoutError: a socket timeout the server set, on a write.)
            self.close_connection = True

    def _write_whole(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _write_stream(self, response: HttpResponse, stream: Iterable[bytes]) -> None:
        declared = next((v for k, v in response.headers.items() if k.lower() == "content-length"), None)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if declared is None:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        # wfile is unbuffered (wbufsize 0): each piece reaches the socket as it is written.
        for piece in stream:
            if not piece:
                continue  # an empty chunk would end a chunked body
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if declared is None else piece)
            sent += len(piece)
        if declared is None:
            self.wfile.write(b"0\r\n\r\n")
        elif sent != int(declared):
            # Fewer bytes than declared: the client can only tell once the connection closes.
            self.close_connection = True

    # BaseHTTPRequestHandler dispatches to do_<METHOD>.
    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulators' request logs record what tests need."""


#: Every server answers ``GET`` here with how many requests have changed something so far (a
#: successful POST, PUT, PATCH or DELETE): the console polls it to know when to redraw.
CHANGES_PATH = "/_emulator/changes"


class EmulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app
        self.changes = 0
        self._changes_lock = threading.Lock()

    def count_change(self) -> None:
        with self._changes_lock:
            self.changes += 1


class RequestLog[Entry]:
    """What an emulator answered (or sent), for tests and the control API (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def append(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Fault:
    """A failure to answer with; each emulator says how its service words it (``response``)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any] | None
    remaining: int
    delay: float
    #: Process the request normally, then hold the answer for ``delay`` seconds: the client's
    #: read timeout fires although the write happened (a lost response). ``status`` is unused.
    hold: bool = False

    def response(self) -> HttpResponse:
        raise NotImplementedError

    @property
    def reason(self) -> str:
        """The status's reason phrase (``Error`` for a status HTTP does not name)."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


class FaultInjector[F: Fault]:
    """Makes the next matching requests fail (or stall) on purpose, for tests of retries."""

    def __init__(self, fault_type: type[F]) -> None:
        self._fault_type = fault_type
        self._lock = threading.Lock()
        self._faults: list[F] = []
        self._policy: Callable[[HttpRequest], F | None] | None = None

    def add(self, fault: F, times: int = 1) -> None:
        """Answer the next ``times`` requests ``fault`` matches with it."""
        fault.remaining = times
        with self._lock:
            self._faults.append(fault)

    def make(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        delay: float = 0.0,
        hold: bool = False,
        method: str = "*",
        path_pattern: str = "",
    ) -> F:
        """A one-off fault of this emulator's kind (what a policy returns)."""
        return self._fault_type(method.upper(), re.compile(path_pattern), status, body, 1, delay, hold)

    def set_policy(self, policy: Callable[[HttpRequest], F | None] | None) -> None:
        """Consulted for every request no scripted fault matches (``None`` removes it)."""
        with self._lock:
            self._policy = policy

    def take(self, method: str, path: str, request: HttpRequest | None = None) -> F | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*") and fault.pattern.search(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            policy = self._policy
        return policy(request) if policy is not None and request is not None else None

    def clear(self) -> None:
        """Forget scripted faults (a policy stays until ``set_policy(None)``)."""
        with self._lock:
            self._faults.clear()


def serve_with_faults[F: Fault](
    faults: FaultInjector[F], request: HttpRequest, serve: Callable[[], HttpResponse]
) -> HttpResponse:
    """Answer ``request`` with ``serve``, unless a fault applies: sleep ``delay`` then answer the
    fault (``status`` 0: answer normally after the delay), or with ``hold`` serve first and hold
    the answer back for ``delay``."""
    fault = faults.take(request.method, request.path, request)
    if fault is None:
        return serve()
    if fault.hold:
        response = serve()
        time.sleep(fault.delay)
        return response
    if fault.delay > 0:
        time.sleep(fault.delay)
    if fault.status > 0:  # status 0: only delay, then answer normally
        return fault.response()
    return serve()
