"""A scripted Discord stand-in on 127.0.0.1, and a fake clock, for the Discord client tests.

The stub is a real HTTP server (stdlib ``http.server`` in a thread): the client under test sends
real requests through ``requests``, and each test scripts the responses in order and inspects
the requests as they arrived on the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from flexcord.adapters.discord import DiscordClient

APPLICATION_ID = "900000000000000001"
BOT_TOKEN = "bot-token-VERY-SECRET"


@dataclass(frozen=True)
class Reply:
    """One scripted response."""

    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to provoke client timeouts)
    chunked: bool = False  # send without Content-Length


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def multipart(self) -> dict[str, Message]:
        """The parts of a multipart/form-data body, by field name."""
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        assert message.is_multipart()
        parts: dict[str, Message] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            assert isinstance(name, str)
            parts[name] = part
        return parts


class StubDiscord:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with stub._lock:
                    stub.requests.append(
                        RecordedRequest(self.command, url.path, parse_qs(url.query), self.headers, body)
                    )
                    reply = (
                        stub.replies.popleft()
                        if stub.replies
                        else Reply(body={"id": str(len(stub.requests))})
                    )
                time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                if reply.body is None:
                    payload = b""
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if not reply.chunked:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out closes the socket under a delayed reply

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.origin + "/api/v10"

    def respond(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        chunked: bool = False,
    ) -> None:
        """Script the next response (in order); unscripted requests get 200 ``{"id": "<n>"}``."""
        self.replies.append(Reply(status, body, headers or {}, delay, chunked))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeTime:
    """A clock that only moves when the code under test sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def stub() -> Iterator[StubDiscord]:
    server = StubDiscord()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(stub: StubDiscord, fake_time: FakeTime) -> Iterator[Any]:
    sessions: list[requests.Session] = []

    def build(**overrides: Any) -> DiscordClient:
        session = requests.Session()
        sessions.append(session)
        settings: dict[str, Any] = {
            "base_url": stub.api_url,
            "application_id": APPLICATION_ID,
            "bot_token": BOT_TOKEN,
            "session": session,
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
            "timeout": (1.0, 2.0),
        }
        settings.update(overrides)
        return DiscordClient(**settings)

    yield build
    for session in sessions:
        session.close()


@pytest.fixture
def client(make_client: Any) -> DiscordClient:
    built: DiscordClient = make_client()
    return built
