"""``EmulatorControl``: play the Flex agent and inspect a running Twilio emulator from another
process (a command line, the local stack's web console, an end-to-end test)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

# Shared with the other emulator's control client.
from devstack.control_client import (
    ControlClient,
    EmulatorControlError,
    FileSpec,
    JsonObject,
)
from devstack.control_client import encode_file as _encode_file

__all__ = ["EmulatorControl", "EmulatorControlError", "FileSpec", "encode_file"]


def encode_file(spec: FileSpec | Mapping[str, str]) -> JsonObject:
    return _encode_file(spec, default_content_type="application/octet-stream")


class EmulatorControl(ControlClient):
    """The agent-side and inspection methods of :class:`TwilioEmulator`, returning plain dicts."""

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

    def settings(self) -> JsonObject:
        result: JsonObject = self._call("GET", "settings")
        return result

    def update_settings(self, **settings: Any) -> JsonObject:
        """E.g. ``update_settings(duplicate_deliveries=True, webhook_retries=0)``."""
        result: JsonObject = self._call("PUT", "settings", settings)
        return result

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "clock/advance", {"seconds": seconds})
