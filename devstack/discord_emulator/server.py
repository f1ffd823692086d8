"""HTTP plumbing: the threaded server, and the transport behaviour wrapped around the REST handlers
(fault injection, bot-token auth, rate limits, the request log) plus the CDN routes."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .bodies import RequestBody, parse_body, parse_body_for_log
from .cdn import ATTACHMENTS_PREFIX, EPHEMERAL_ATTACHMENTS_PREFIX, UrlSigner
from .errors import DiscordApiError
from .ratelimit import RateLimitDecision, RateLimiter
from .rest import API_PREFIX, RestApi, RestRequest, find_route
from .state import World

CONTROL_PREFIX = "/_emulator/"
CDN_PREFIXES = (f"/{ATTACHMENTS_PREFIX}/", f"/{EPHEMERAL_ATTACHMENTS_PREFIX}/")
CDN_GONE_TEXT = b"This content is no longer available."


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> HttpResponse:
        if status == HTTPStatus.NO_CONTENT:
            return cls(status, b"", dict(headers or {}))
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator answered (control API calls are not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    timestamp: float
    route: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def append(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any] | None
    remaining: int
    delay: float

    def response(self) -> HttpResponse:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS and self.body is None:
            return HttpResponse.json(
                429,
                {"message": "You are being rate limited.", "retry_after": 1.0, "global": False},
                {"Retry-After": "1", "X-RateLimit-Scope": "user"},
            )
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Error"
        return HttpResponse.json(self.status, self.body or {"message": f"{self.status}: {reason}", "code": 0})


class FaultInjector:
    """Makes the next matching requests fail (or stall) on purpose, for tests of the bot's retries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

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
        with self._lock:
            self._faults.append(Fault(method.upper(), re.compile(path_pattern), status, body, times, delay))

    def take(self, method: str, path: str) -> Fault | None:
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


ControlHandler = Callable[[HttpRequest], HttpResponse]


class EmulatorApp:
    """Routes one HTTP request to the REST API, the CDN or the control API."""

    def __init__(
        self,
        *,
        world: World,
        rest: RestApi,
        signer: UrlSigner,
        limiter: RateLimiter,
        faults: FaultInjector,
        log: RequestLog,
        bot_token: Callable[[], str],
        control: ControlHandler,
    ) -> None:
        self.world = world
        self.rest = rest
        self.signer = signer
        self.limiter = limiter
        self.faults = faults
        self.log = log
        self.bot_token = bot_token
        self.control = control

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return self.control(request)
        route_key: list[str | None] = [None]
        try:
            response = self._serve(request, route_key)
        except Exception:  # an emulator bug must surface as a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            response = HttpResponse.json(500, {"message": "500: Internal Server Error", "code": 0})
        self.log.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                body=parse_body_for_log(request.headers.get("content-type", ""), request.body)
                if request.body
                else None,
                status=response.status,
                timestamp=time.time(),
                route=route_key[0],
            )
        )
        return response

    def _serve(self, request: HttpRequest, route_key: list[str | None]) -> HttpResponse:
        fault = self.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.status > 0:  # status 0: only delay, then answer normally
                return fault.response()
        if request.path.startswith(CDN_PREFIXES):
            return self._serve_cdn(request)
        if request.path.startswith(API_PREFIX + "/"):
            return self._serve_api(request, route_key)
        return HttpResponse.json(404, {"message": "404: Not Found", "code": 0})

    def _serve_cdn(self, request: HttpRequest) -> HttpResponse:
        stored = self.world.file_at_path(request.path) if request.method in ("GET", "HEAD") else None
        if stored is None or not self.signer.is_valid(request.path, request.query):
            return HttpResponse(404, CDN_GONE_TEXT, {"Content-Type": "text/plain"})
        return HttpResponse(200, stored.data, {"Content-Type": stored.content_type})

    def _serve_api(self, request: HttpRequest, route_key: list[str | None]) -> HttpResponse:
        try:
            route, params = find_route(request.method, request.path[len(API_PREFIX) :])
        except DiscordApiError as exc:
            # Discord's own answer, plus a hint for routes that exist on Discord but not here.
            return HttpResponse.json(exc.status, exc.body(), {"X-Emulator-Note": "route not emulated"})
        route_key[0] = route.key
        authorization = request.headers.get("authorization", "")
        authorized = not route.bot_auth or authorization == f"Bot {self.bot_token()}"
        decision: RateLimitDecision = self.limiter.check(
            identity=authorization if route.bot_auth else "interaction-webhooks",
            route_key=route.key,
            major_parameters=route.major_values(params),
            counts_globally=route.bot_auth and authorized,
        )
        if not decision.allowed:
            return HttpResponse.json(429, decision.body(), decision.headers)
        try:
            if not authorized:
                raise DiscordApiError.unauthorized()
            body = (
                parse_body(request.headers.get("content-type", ""), request.body)
                if request.body
                else RequestBody()
            )
            result = self.rest.handle(
                route,
                RestRequest(
                    method=request.method,
                    path=request.path,
                    params=params,
                    query=request.query,
                    body=body,
                    headers=request.headers,
                ),
            )
        except DiscordApiError as exc:
            return HttpResponse.json(exc.status, exc.body(), decision.headers)
        return HttpResponse.json(result.status, result.body, decision.headers)


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
        """Quiet: the request log records what tests need."""


class EmulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app
