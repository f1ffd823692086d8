"""``EmulatorControl``: play the Flex agent and inspect a running Twilio emulator from another
process (a command line, the local stack's web console, an end-to-end test)."""

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
    here) or an already encoded ``{"filename", "content_base64", "content_type"}``."""
    if isinstance(spec, Mapping):
        if "content_base64" in spec:
            return dict(spec)
        path = Path(spec["path"])
        filename = spec.get("filename") or path.name
        content_type = (
            spec.get("content_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        return encode_file((filename, path.read_bytes(), content_type))
    filename, data, content_type = spec
    return {
        "filename": filename,
        "content_base64": base64.b64encode(data).decode(),
        "content_type": content_type,
    }


class EmulatorControl:
    """The agent-side and inspection methods of :class:`TwilioEmulator`, returning plain dicts."""

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

    # -- the agent -----------------------------------------------------------------------------

    def tasks(self, *, include_closed: bool = False) -> list[JsonObject]:
        result: list[JsonObject] = self._call(
            "GET", "tasks", params={"include_closed": "true"} if include_closed else None
        )
        return result

    def accept(self, task_sid: str, agent: str = "alex", friendly_name: str = "Alex") -> JsonObject:
        result: JsonObject = self._call(
            "POST",
            f"tasks/{quote(task_sid, safe='')}/accept",
            {"agent": agent, "friendly_name": friendly_name},
        )
        return result

    def agent_say(
        self,
        target: str,
        body: str | None,
        *,
        agent: str | None = None,
        media: Sequence[FileSpec | Mapping[str, str]] | None = None,
    ) -> JsonObject:
        payload = {
            "target": target,
            "body": body,
            "agent": agent,
            "media": [encode_file(spec) for spec in (media or [])],
        }
        result: JsonObject = self._call("POST", "say", payload)
        return result

    def complete(self, task_sid: str) -> JsonObject:
        result: JsonObject = self._call("POST", f"tasks/{quote(task_sid, safe='')}/complete")
        return result

    # -- conversations -------------------------------------------------------------------------

    def conversations(self) -> list[JsonObject]:
        result: list[JsonObject] = self._call("GET", "conversations")
        return result

    def conversation(self, sid: str) -> JsonObject:
        result: JsonObject = self._call("GET", f"conversations/{quote(sid, safe='')}")["conversation"]
        return result

    def messages(self, conversation_sid: str) -> list[JsonObject]:
        result: list[JsonObject] = self._call(
            "GET", f"conversations/{quote(conversation_sid, safe='')}/messages"
        )
        return result

    def participants(self, conversation_sid: str) -> list[JsonObject]:
        result: list[JsonObject] = self._call(
            "GET", f"conversations/{quote(conversation_sid, safe='')}/participants"
        )
        return result

    # -- inspection and knobs ------------------------------------------------------------------

    def requests(self) -> list[JsonObject]:
        result: list[JsonObject] = self._call("GET", "requests")
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def webhook_deliveries(self) -> list[JsonObject]:
        result: list[JsonObject] = self._call("GET", "webhook-deliveries")
        return result

    def clear_webhook_deliveries(self) -> None:
        self._call("DELETE", "webhook-deliveries")

    def studio_triggers(self) -> list[JsonObject]:
        result: list[JsonObject] = self._call("GET", "studio-triggers")
        return result

    def studio_executions(self) -> list[JsonObject]:
        """Each flow run: ``flow_sid``, ``conversation_sid``, ``message_sid``, ``steps``,
        ``status`` (``active``, ``ended`` or ``failed``) and ``error``."""
        result: list[JsonObject] = self._call("GET", "studio-executions")
        return result

    def studio_hook_errors(self) -> list[str]:
        result: list[str] = self._call("GET", "studio-hook-errors")
        return result

    def inject_fault(  # noqa: PLR0917 - mirrors TwilioEmulator.inject_fault
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
                "body": dict(body) if body is not None else None,
                "times": times,
                "delay": delay,
            },
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def settings(self) -> JsonObject:
        result: JsonObject = self._call("GET", "settings")
        return result

    def update_settings(self, **settings: Any) -> JsonObject:
        """E.g. ``update_settings(duplicate_deliveries=True, webhook_retries=0)``."""
        result: JsonObject = self._call("PUT", "settings", settings)
        return result

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "clock/advance", {"seconds": seconds})

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
