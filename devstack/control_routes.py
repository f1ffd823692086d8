"""The control APIs under ``/_emulator/`` (the emulators', the sample feeds'): routing, JSON in and
out, a client error answered ``400 {"error": "..."}`` and an unknown route 404. Not part of any
emulated service, and not authenticated (loopback only)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from devstack.emulator_base import Emulator
from devstack.http_server import HttpRequest, HttpResponse

JsonObject = dict[str, Any]
#: ``(body, request, captured)``: the JSON body, the request, and what ``"*"`` segments matched.
ControlHandler = Callable[[Any, HttpRequest, list[str]], Any]
ControlRoute = tuple[str, tuple[str, ...], ControlHandler]


class ControlRequestError(ValueError):
    """A control request that cannot be acted on as sent."""


def json_object(value: Any, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise ControlRequestError(f"{what} must be a JSON object")
    return value


def optional_str(payload: JsonObject, key: str) -> str | None:
    value = payload.get(key)
    return None if value is None else str(value)


def find_route[H](
    routes: Sequence[tuple[str, tuple[str, ...], H]], method: str, parts: list[str]
) -> tuple[H, list[str]] | None:
    """The handler of the first route matching ``method`` and the path's ``parts``, with what its
    ``"*"`` segments captured (also the web console's routing)."""
    for route_method, pattern, handler in routes:
        if route_method != method or len(pattern) != len(parts):
            continue
        if all(expected in ("*", actual) for expected, actual in zip(pattern, parts, strict=True)):
            return handler, [
                actual for expected, actual in zip(pattern, parts, strict=True) if expected == "*"
            ]
    return None


class ControlRoutes:
    """Routes ``METHOD /_emulator/<segments>``: ``"*"`` in a route's pattern captures one segment;
    the handler's result is the 200 answer, and what it raises of ``client_errors`` a 400."""

    client_errors: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError)

    def __init__(self, routes: Sequence[ControlRoute]) -> None:
        self._routes = list(routes)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        parts = request.path.strip("/").split("/")[1:]  # drop "_emulator"
        try:
            body: Any = json.loads(request.body) if request.body else {}
        except json.JSONDecodeError:
            return HttpResponse.json(400, {"error": "body is not JSON"})
        found = self._route(request.method, parts)
        if found is None:
            return HttpResponse.json(404, {"error": f"no control route {request.method} {request.path}"})
        handler, captured = found
        try:
            return HttpResponse.json(200, handler(body, request, captured))
        except self.client_errors as exc:
            return HttpResponse.json(400, self._refusal(exc))

    def _route(self, method: str, parts: list[str]) -> tuple[ControlHandler, list[str]] | None:
        return find_route(self._routes, method, parts)

    def _refusal(self, exc: Exception) -> JsonObject:
        """The 400's body for a client error."""
        return {"error": f"{type(exc).__name__}: {exc}"}


class EmulatorControlRoutes[E: Emulator[Any, Any]](ControlRoutes):
    """An emulator's control API: its own ``routes`` plus what every emulator offers (its state,
    its request log, fault injection)."""

    def __init__(self, emulator: E, routes: Sequence[ControlRoute]) -> None:
        self.emulator = emulator
        super().__init__(
            [
                ("GET", ("state",), self._state),
                ("GET", ("requests",), self._requests),
                ("DELETE", ("requests",), self._clear_requests),
                ("POST", ("faults",), self._inject_fault),
                ("DELETE", ("faults",), self._clear_faults),
                *routes,
            ]
        )

    def _state(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        return self.emulator.state()

    def _requests(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return [entry.to_dict() for entry in self.emulator.requests]

    def _clear_requests(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        self.emulator.clear_requests()
        return {"ok": True}

    def _inject_fault(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        self.emulator.inject_fault(
            str(payload["method"]),
            str(payload["path_pattern"]),
            int(payload["status"]),
            payload.get("body"),
            times=int(payload.get("times", 1)),
            delay=float(payload.get("delay", 0)),
            hold=bool(payload.get("hold", False)),
        )
        return {"ok": True}

    def _clear_faults(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        self.emulator.clear_faults()
        return {"ok": True}
