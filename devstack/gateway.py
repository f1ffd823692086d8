"""A local HTTP gateway: turns HTTP requests into API Gateway HTTP API (v2) events for the same
handlers the template deploys, and their results back into HTTP responses. Each request is one
INFO line on the ``devstack.gateway`` logger: method, path, status, milliseconds (and the
function that answered)."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from devstack.lambda_runtime import Handler, LocalLambdaContext

log = logging.getLogger("devstack.gateway")

TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/xml")


class Route:
    def __init__(
        self, method: str, path: str, function_name: str, handler: Handler, timeout_seconds: int
    ) -> None:
        self.method, self.path, self.function_name = method, path, function_name
        self.handler, self.timeout_seconds = handler, timeout_seconds


class LocalGateway:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        self._extra: dict[tuple[str, str], Callable[[bytes], tuple[int, bytes]]] = {}
        gateway = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                gateway._serve(self)

            def do_PUT(self) -> None:
                gateway._serve(self)

            def do_GET(self) -> None:
                gateway._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._started = False

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_route(self, route: Route) -> None:
        self._routes[(route.method, route.path)] = route

    def add_plain_route(self, method: str, path: str, serve: Callable[[bytes], tuple[int, bytes]]) -> None:
        """A non-Lambda route on the same server (e.g. the sink for custom-resource responses)."""
        self._extra[(method, path)] = serve

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def stop(self) -> None:
        # shutdown() waits for serve_forever to end: one that never began would never end.
        if self._started:
            self._server.shutdown()
            self._started = False
        self._server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        began = time.perf_counter()
        url = urlsplit(request.path)
        status, function_name = 500, ""
        try:
            status, function_name = self._answer(request, url.path, url.query)
        finally:
            milliseconds = (time.perf_counter() - began) * 1000
            answered_by = f" ({function_name})" if function_name else ""
            log.info("%s %s %d %.0f ms%s", request.command, url.path, status, milliseconds, answered_by)

    def _answer(self, request: BaseHTTPRequestHandler, path: str, query: str) -> tuple[int, str]:
        """Answers the request; returns the status and the function that ran (if one did)."""
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        key = (request.command, path)
        if key in self._extra:
            status, payload = self._extra[key](body)
            self._reply(request, status, {"content-type": "application/json"}, payload)
            return status, ""
        route = self._routes.get(key)
        if route is None:
            self._reply(request, 404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            return 404, ""
        event = api_gateway_event(request, path, query, body, route)
        context = LocalLambdaContext(function_name=route.function_name, timeout_seconds=route.timeout_seconds)
        try:
            result = route.handler(event, context)
        except Exception:
            # What API Gateway answers when the function itself crashes (the traceback is the
            # function's, logged as Lambda would log it).
            log.exception("%s raised; the gateway answered 500", route.function_name)
            self._reply(
                request, 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
            )
            return 500, route.function_name
        status, headers, payload = lambda_result_to_http(result)
        self._reply(request, status, headers, payload)
        return status, route.function_name

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("content-length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def api_gateway_event(
    request: BaseHTTPRequestHandler, path: str, query: str, body: bytes, route: Route
) -> dict[str, Any]:
    """The payload format 2.0 event HTTP API sends: lower-cased header names, repeated headers
    joined with commas, and binary bodies base64-encoded."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    content_type = headers.get("content-type", "")
    is_text = any(content_type.startswith(kind) for kind in TEXT_TYPES)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": request.command,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.client_address[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if query:
        from urllib.parse import parse_qsl

        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode("ascii")
    return event


def lambda_result_to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """HTTP API's reading of a handler's return value (payload format 2.0)."""
    if isinstance(result, dict) and "statusCode" in result:
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), headers, payload
    # Anything else is taken as a JSON body with status 200.
    return 200, {"content-type": "application/json"}, json.dumps(result).encode("utf-8")
