"""``EmulatorControl``: drive a running emulator from another process over its control API."""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests

JsonObject = dict[str, Any]
FileSpec = tuple[str, bytes, str]  # (filename, bytes, content_type)
T = TypeVar("T")


class EmulatorControlError(RuntimeError):
    pass


def encode_file(spec: FileSpec | Mapping[str, str]) -> JsonObject:
    """A file for the control API: ``(filename, bytes, content_type)``, ``{"path": ...}`` (read
    here, ``filename`` optional) or an already encoded ``{"filename", "content_base64", ...}``."""
    if isinstance(spec, Mapping):
        if "content_base64" in spec:
            return dict(spec)
        path = Path(spec["path"])
        filename = spec.get("filename") or path.name
        content_type = spec.get("content_type") or mimetypes.guess_type(filename)[0] or ""
        return encode_file((filename, path.read_bytes(), content_type))
    filename, data, content_type = spec
    return {
        "filename": filename,
        "content_base64": base64.b64encode(data).decode(),
        "content_type": content_type,
    }


class EmulatorControl:
    """Same member-side methods as :class:`DiscordEmulator`, returning plain dicts."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None) -> Any:
        response = self._session.request(
            method, f"{self.base_url}/_emulator/{path}", json=body, params=params, timeout=self.timeout
        )
        if response.status_code != 200:
            raise EmulatorControlError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json()

    def state(self) -> JsonObject:
        result: JsonObject = self._call("GET", "state")
        return result

    def run_command(
        self,
        user: str,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: str = "general",
        attachments: Mapping[str, FileSpec | Mapping[str, str]] | None = None,
    ) -> JsonObject:
        body = {
            "user": user,
            "name": name,
            "options": dict(options or {}),
            "channel": channel,
            "attachments": {key: encode_file(spec) for key, spec in (attachments or {}).items()},
        }
        result: JsonObject = self._call("POST", "command", body)
        return result

    def submit_modal(
        self,
        user: str,
        modal: Mapping[str, Any],
        values: Mapping[str, str | Sequence[str]],
        files: Mapping[str, Sequence[FileSpec | Mapping[str, str]]] | None = None,
        *,
        channel: str | None = None,
    ) -> JsonObject:
        body = {
            "user": user,
            "modal": dict(modal),
            "values": {
                key: value if isinstance(value, str) else list(value) for key, value in values.items()
            },
            "files": {key: [encode_file(spec) for spec in specs] for key, specs in (files or {}).items()},
            "channel": channel,
        }
        result: JsonObject = self._call("POST", "modal-submit", body)
        return result

    def click(
        self, user: str, message: Mapping[str, Any], custom_id: str, *, values: Sequence[str] | None = None
    ) -> JsonObject:
        body: JsonObject = {"user": user, "message": dict(message), "custom_id": custom_id}
        if values is not None:
            body["values"] = list(values)
        result: JsonObject = self._call("POST", "click", body)
        return result

    def messages(self, channel: str, *, as_user: str | None = None) -> list[JsonObject]:
        """``channel``: an id, a name, or ``"dm:<username>"``; oldest first."""
        params = {"as_user": as_user} if as_user else None
        result: list[JsonObject] = self._call(
            "GET", f"channels/{quote(channel, safe='')}/messages", params=params
        )
        return result

    def threads(self, parent: str | None = None) -> list[JsonObject]:
        """Threads as the API renders them; ``parent``: a channel id or name."""
        params = {"parent": parent} if parent else None
        result: list[JsonObject] = self._call("GET", "threads", params=params)
        return result

    def thread_members(self, thread_id: str) -> list[str]:
        result: list[str] = self._call("GET", f"threads/{quote(thread_id, safe='')}/members")
        return result

    def interaction(self, token: str) -> JsonObject:
        result: JsonObject = self._call("GET", f"interactions/{quote(token, safe='')}")
        return result

    def original_response(self, token: str) -> JsonObject | None:
        original: JsonObject | None = self.interaction(token)["original"]
        return original

    def followups(self, token: str) -> list[JsonObject]:
        followups: list[JsonObject] = self.interaction(token)["followups"]
        return followups

    def add_user(self, username: str, *, roles: Sequence[str] = (), dms_open: bool = True) -> JsonObject:
        result: JsonObject = self._call(
            "POST", "users", {"username": username, "roles": list(roles), "dms_open": dms_open}
        )
        return result

    def set_interactions_url(self, url: str | None) -> None:
        self._call("PUT", "interactions-url", {"url": url})

    def ping(self) -> JsonObject:
        result: JsonObject = self._call("POST", "ping")
        return result

    def inject_fault(  # noqa: PLR0917 - mirrors DiscordEmulator.inject_fault
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: Mapping[str, Any] | None = None,
        times: int = 1,
        delay: float = 0,
    ) -> None:
        self._call(
            "POST",
            "faults",
            {
                "method": method,
                "path_pattern": path_pattern,
                "status": status,
                "body": body,
                "times": times,
                "delay": delay,
            },
        )

    def requests(self) -> list[JsonObject]:
        result: list[JsonObject] = self._call("GET", "requests")
        return result

    @staticmethod
    def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)
