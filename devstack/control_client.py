"""What the emulators' control clients share: the HTTP call to ``/_emulator/...``, encoding files
for it, and waiting for a condition."""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

JsonObject = dict[str, Any]
FileSpec = tuple[str, bytes, str]  # (filename, bytes, content_type)


class EmulatorControlError(RuntimeError):
    """The emulator refused a control request (the message carries its HTTP status and reason;
    ``reason`` is the emulator's own words, for a person)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class EmulatorUnreachable(EmulatorControlError):
    """Nothing answers at the emulator's address: the local stack stopped (or was killed)."""


def encode_file(spec: FileSpec | Mapping[str, str], *, default_content_type: str = "") -> JsonObject:
    """A file for a control API: ``(filename, bytes, content_type)``, ``{"path": ...}`` (read
    here, ``filename`` optional) or an already encoded ``{"filename", "content_base64", ...}``."""
    if isinstance(spec, Mapping):
        if "content_base64" in spec:
            return dict(spec)
        path = Path(spec["path"])
        filename = spec.get("filename") or path.name
        content_type = spec.get("content_type") or mimetypes.guess_type(filename)[0] or default_content_type
        return encode_file((filename, path.read_bytes(), content_type))
    filename, data, content_type = spec
    return {
        "filename": filename,
        "content_base64": base64.b64encode(data).decode(),
        "content_type": content_type,
    }


def wait_for[T](
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    what: str = "condition",
) -> T:
    """The predicate's first truthy value; ``TimeoutError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not met within {timeout:g} s")
        time.sleep(interval)


class ControlClient:
    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None) -> Any:
        try:
            response = self._session.request(
                method, f"{self.base_url}/_emulator/{path}", json=body, params=params, timeout=self.timeout
            )
        except requests.ConnectionError as error:
            reason = f"nothing answers at {self.base_url}: is the local stack (`make local`) still running?"
            raise EmulatorUnreachable(f"{method} {path}: {reason}", reason=reason) from error
        if response.status_code != 200:
            reason = _error_of(response)
            raise EmulatorControlError(
                f"{method} {path}: HTTP {response.status_code} {reason}", reason=reason
            )
        return response.json()

    def _object(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> JsonObject:
        """A call whose answer is a JSON object."""
        result: JsonObject = self._call(method, path, body, params)
        return result

    def _list(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> list[Any]:
        """A call whose answer is a JSON array."""
        result: list[Any] = self._call(method, path, body, params)
        return result

    wait_for = staticmethod(wait_for)


class EmulatorControlClient(ControlClient):
    """What the control clients of the emulators share: their state, the request log, faults."""

    def state(self) -> JsonObject:
        return self._object("GET", "state")

    def requests(self) -> list[JsonObject]:
        return self._list("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def inject_fault(  # noqa: PLR0917 - mirrors the emulators' inject_fault
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: Mapping[str, Any] | None = None,
        times: int = 1,
        delay: float = 0,
        hold: bool = False,
    ) -> None:
        self._call(
            "POST",
            "faults",
            {
                "method": method,
                "path_pattern": path_pattern,
                "status": status,
                "body": dict(body) if body is not None else None,
                "times": times,
                "delay": delay,
                "hold": hold,
            },
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")


def _error_of(response: requests.Response) -> str:
    """The ``error`` of a control API's JSON refusal, else the body as it came."""
    try:
        document = response.json()
    except ValueError:
        return response.text
    return str(document.get("error") or response.text) if isinstance(document, dict) else response.text
