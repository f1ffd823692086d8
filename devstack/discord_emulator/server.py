"""HTTP plumbing: the threaded server, and the transport behaviour wrapped around the REST handlers
(fault injection, bot-token auth, rate limits, the request log) plus the CDN routes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

from devstack.emulator_base import App, Exchange, Transport
from devstack.http_server import Fault, FaultInjector, HttpRequest, HttpResponse, RequestLog

from .bodies import RequestBody, parse_body, parse_body_for_log
from .cdn import ATTACHMENTS_PREFIX, EPHEMERAL_ATTACHMENTS_PREFIX, UrlSigner
from .errors import DiscordApiError
from .ratelimit import RateLimitDecision, RateLimiter
from .rest import API_PREFIX, RestApi, RestRequest, find_route
from .state import World

CDN_PREFIXES = (f"/{ATTACHMENTS_PREFIX}/", f"/{EPHEMERAL_ATTACHMENTS_PREFIX}/")
CDN_GONE_TEXT = b"This content is no longer available."


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


class DiscordFault(Fault):
    def response(self) -> HttpResponse:
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return rate_limited_response(self.body)
        return HttpResponse.json(
            self.status, self.body or {"message": f"{self.status}: {self.reason}", "code": 0}
        )


def rate_limited_response(body: dict[str, Any] | None) -> HttpResponse:
    """A 429 as Discord words it (developers/topics/rate-limits): ``retry_after`` (seconds, a
    float) and ``global`` in the body, ``Retry-After`` (whole seconds, rounded up) in the headers,
    and for a global limit ``X-RateLimit-Global: true`` with ``X-RateLimit-Scope: global``. An
    injected body may give just ``retry_after``, ``global`` and ``scope`` ("user" or "shared")."""
    given = dict(body or {})
    retry_after = float(given.get("retry_after", 1.0))
    is_global = bool(given.get("global", False))
    scope = "global" if is_global else str(given.pop("scope", "user"))
    payload = {
        "message": given.get("message", "You are being rate limited."),
        "retry_after": round(retry_after, 3),
        "global": is_global,
        **{key: value for key, value in given.items() if key == "code"},
    }
    headers = {"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return HttpResponse.json(429, payload, headers)


class EmulatorApp(Transport[DiscordFault, RecordedRequest, Exchange]):
    """Routes one HTTP request to the REST API, the CDN or the control API."""

    def __init__(
        self,
        *,
        world: World,
        rest: RestApi,
        signer: UrlSigner,
        limiter: RateLimiter,
        faults: FaultInjector[DiscordFault],
        log: RequestLog[RecordedRequest],
        bot_token: Callable[[], str],
        control: App,
    ) -> None:
        super().__init__(faults=faults, log=log, control=control)
        self.world = world
        self.rest = rest
        self.signer = signer
        self.limiter = limiter
        self.bot_token = bot_token

    def _exchange(self, request: HttpRequest) -> Exchange:
        return Exchange(request)

    def _internal_error(self) -> HttpResponse:
        return HttpResponse.json(500, {"message": "500: Internal Server Error", "code": 0})

    def _record(self, exchange: Exchange, response: HttpResponse) -> RecordedRequest:
        request = exchange.request
        return RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=parse_body_for_log(request.headers.get("content-type", ""), request.body)
            if request.body
            else None,
            status=response.status,
            timestamp=time.time(),
            route=exchange.route,
        )

    def _serve(self, exchange: Exchange) -> HttpResponse:
        request = exchange.request
        if request.path.startswith(CDN_PREFIXES):
            return self._serve_cdn(request)
        if request.path.startswith(API_PREFIX + "/"):
            return self._serve_api(exchange)
        return HttpResponse.json(404, {"message": "404: Not Found", "code": 0})

    def _serve_cdn(self, request: HttpRequest) -> HttpResponse:
        stored = self.world.file_at_path(request.path) if request.method in ("GET", "HEAD") else None
        if stored is None or not self.signer.is_valid(request.path, request.query):
            return HttpResponse(404, CDN_GONE_TEXT, {"Content-Type": "text/plain"})
        return HttpResponse(200, stored.data, {"Content-Type": stored.content_type})

    def _serve_api(self, exchange: Exchange) -> HttpResponse:
        request = exchange.request
        try:
            route, params = find_route(request.method, request.path[len(API_PREFIX) :])
        except DiscordApiError as exc:
            # Discord's own answer, plus a hint for routes that exist on Discord but not here.
            return HttpResponse.json(exc.status, exc.body(), {"X-Emulator-Note": "route not emulated"})
        exchange.route = route.key
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
