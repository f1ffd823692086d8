"""``EmulatorControl``: play the Flex agent and inspect a running Twilio emulator from another
process (a command line, the local stack's web console, an end-to-end test)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

# Shared with the other emulator's control client.
from devstack.control_client import (
    EmulatorControlClient,
    EmulatorControlError,
    FileSpec,
    JsonObject,
)
from devstack.control_client import encode_file as _encode_file

__all__ = ["EmulatorControl", "EmulatorControlError", "FileSpec", "encode_file"]


def encode_file(spec: FileSpec | Mapping[str, str]) -> JsonObject:
    return _encode_file(spec, default_content_type="application/octet-stream")


class EmulatorControl(EmulatorControlClient):
    """The agent-side and inspection methods of :class:`TwilioEmulator`, returning plain dicts
    (and, shared with the other emulator's client: ``state``, ``requests``, ``inject_fault``...)."""

    # -- the agent -----------------------------------------------------------------------------

    def tasks(self, *, include_closed: bool = False) -> list[JsonObject]:
        return self._list("GET", "tasks", params={"include_closed": "true"} if include_closed else None)

    def accept(self, task_sid: str, agent: str = "alex", friendly_name: str = "Alex") -> JsonObject:
        return self._object(
            "POST",
            f"tasks/{quote(task_sid, safe='')}/accept",
            {"agent": agent, "friendly_name": friendly_name},
        )

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
        return self._object("POST", "say", payload)

    def complete(self, task_sid: str) -> JsonObject:
        return self._object("POST", f"tasks/{quote(task_sid, safe='')}/complete")

    def transfer(self, task_sid: str) -> JsonObject:
        """Back to the queue: returns the new pending task."""
        return self._object("POST", f"tasks/{quote(task_sid, safe='')}/transfer")

    # -- conversations -------------------------------------------------------------------------

    def conversations(self) -> list[JsonObject]:
        return self._list("GET", "conversations")

    def conversation(self, sid: str) -> JsonObject:
        conversation: JsonObject = self._object("GET", f"conversations/{quote(sid, safe='')}")["conversation"]
        return conversation

    def messages(self, conversation_sid: str) -> list[JsonObject]:
        return self._list("GET", f"conversations/{quote(conversation_sid, safe='')}/messages")

    def participants(self, conversation_sid: str) -> list[JsonObject]:
        return self._list("GET", f"conversations/{quote(conversation_sid, safe='')}/participants")

    # -- inspection and knobs ------------------------------------------------------------------

    def webhook_deliveries(self) -> list[JsonObject]:
        return self._list("GET", "webhook-deliveries")

    def clear_webhook_deliveries(self) -> None:
        self._call("DELETE", "webhook-deliveries")

    def studio_triggers(self) -> list[JsonObject]:
        return self._list("GET", "studio-triggers")

    def studio_executions(self) -> list[JsonObject]:
        """Each flow run: ``flow_sid``, ``conversation_sid``, ``message_sid``, ``steps``,
        ``status`` (``active``, ``ended`` or ``failed``) and ``error``."""
        return self._list("GET", "studio-executions")

    def studio_hook_errors(self) -> list[str]:
        return self._list("GET", "studio-hook-errors")

    def settings(self) -> JsonObject:
        return self._object("GET", "settings")

    def update_settings(self, **settings: Any) -> JsonObject:
        """E.g. ``update_settings(duplicate_deliveries=True, webhook_retries=0)``."""
        return self._object("PUT", "settings", settings)

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "clock/advance", {"seconds": seconds})
