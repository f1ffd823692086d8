"""The loopback HTTP server both emulators run on: a threaded stdlib server that hands each
request, as an ``HttpRequest``, to an app function and writes back its ``HttpResponse``."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
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
        response = self.server.app(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

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


class EmulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app


class RequestLog[Entry]:
    """What an emulator answered, for tests and the control API (thread-safe)."""

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

    def response(self) -> HttpResponse:
        raise NotImplementedError


class FaultInjector[F: Fault]:
    """Makes the next matching requests fail (or stall) on purpose, for tests of retries."""

    def __init__(self, fault_type: type[F]) -> None:
        self._fault_type = fault_type
        self._lock = threading.Lock()
        self._faults: list[F] = []

    def add(
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        fault = self._fault_type(method.upper(), re.compile(path_pattern), status, body, times, delay)
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> F | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*") and fault.pattern.search(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
