"""``EmulatorControl``: drive a running emulator from another process over its control API."""

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
    return _encode_file(spec, default_content_type="")


class EmulatorControl(EmulatorControlClient):
    """Same member-side methods as :class:`DiscordEmulator`, returning plain dicts (and, shared
    with the other emulator's client: ``state``, ``requests``, ``inject_fault``...)."""

    def run_command(
        self,
        user: str,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: str = "general",
        attachments: Mapping[str, FileSpec | Mapping[str, str]] | None = None,
        guild_id: str | None = None,
    ) -> JsonObject:
        body = {
            "user": user,
            "name": name,
            "options": dict(options or {}),
            "channel": channel,
            "attachments": {key: encode_file(spec) for key, spec in (attachments or {}).items()},
            "guild_id": guild_id,
        }
        return self._object("POST", "command", body)

    def submit_modal(
        self,
        user: str,
        modal: Mapping[str, Any],
        values: Mapping[str, str | Sequence[str]],
        files: Mapping[str, Sequence[FileSpec | Mapping[str, str]]] | None = None,
        *,
        channel: str | None = None,
        guild_id: str | None = None,
    ) -> JsonObject:
        body = {
            "guild_id": guild_id,
            "user": user,
            "modal": dict(modal),
            "values": {
                key: value if isinstance(value, str) else list(value) for key, value in values.items()
            },
            "files": {key: [encode_file(spec) for spec in specs] for key, specs in (files or {}).items()},
            "channel": channel,
        }
        return self._object("POST", "modal-submit", body)

    def click(
        self,
        user: str,
        message: Mapping[str, Any],
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        guild_id: str | None = None,
    ) -> JsonObject:
        body: JsonObject = {
            "user": user,
            "message": dict(message),
            "custom_id": custom_id,
            "guild_id": guild_id,
        }
        if values is not None:
            body["values"] = list(values)
        return self._object("POST", "click", body)

    def select(
        self,
        user: str,
        message_id: str,
        custom_id: str,
        values: Sequence[str],
        *,
        guild_id: str | None = None,
    ) -> JsonObject:
        body: JsonObject = {
            "user": user,
            "message_id": message_id,
            "custom_id": custom_id,
            "values": list(values),
            "guild_id": guild_id,
        }
        return self._object("POST", "select", body)

    def add_guild(self, name: str, *, owner: str | None = None) -> JsonObject:
        """Returns ``{"id", "channels", "staff_role_id"}``."""
        return self._object("POST", "guilds", {"name": name, "owner": owner})

    def join_guild(self, username: str, guild_id: str, *, roles: Sequence[str] = ()) -> JsonObject:
        path = f"guilds/{quote(guild_id, safe='')}/members/{quote(username, safe='')}"
        return self._object("PUT", path, {"roles": list(roles)})

    def create_channel(
        self,
        guild_id: str,
        name: str,
        *,
        type: int = 0,
        available_tags: Sequence[Mapping[str, Any]] = (),
        topic: str | None = None,
    ) -> JsonObject:
        body = {
            "name": name,
            "type": type,
            "available_tags": [dict(t) for t in available_tags],
            "topic": topic,
        }
        return self._object("POST", f"guilds/{quote(guild_id, safe='')}/channels", body)

    def set_channel_overwrite(
        self,
        channel: str,
        role_or_user_id: str,
        *,
        allow: int = 0,
        deny: int = 0,
        guild_id: str | None = None,
    ) -> JsonObject:
        """Returns the channel with its ``permission_overwrites``."""
        path = f"channels/{quote(channel, safe='')}/overwrites/{quote(role_or_user_id, safe='')}"
        return self._object("PUT", path, {"allow": allow, "deny": deny, "guild_id": guild_id})

    def messages(self, channel: str, *, as_user: str | None = None) -> list[JsonObject]:
        """``channel``: an id, a name, or ``"dm:<username>"``; oldest first."""
        params = {"as_user": as_user} if as_user else None
        return self._list("GET", f"channels/{quote(channel, safe='')}/messages", params=params)

    def threads(self, parent: str | None = None) -> list[JsonObject]:
        """Threads as the API renders them; ``parent``: a channel id or name."""
        params = {"parent": parent} if parent else None
        return self._list("GET", "threads", params=params)

    def thread_members(self, thread_id: str) -> list[str]:
        return self._list("GET", f"threads/{quote(thread_id, safe='')}/members")

    def interaction(self, token: str) -> JsonObject:
        return self._object("GET", f"interactions/{quote(token, safe='')}")

    def original_response(self, token: str) -> JsonObject | None:
        original: JsonObject | None = self.interaction(token)["original"]
        return original

    def followups(self, token: str) -> list[JsonObject]:
        followups: list[JsonObject] = self.interaction(token)["followups"]
        return followups

    def add_user(
        self,
        username: str,
        *,
        roles: Sequence[str] = (),
        dms_open: bool = True,
        guild_ids: Sequence[str] | None = None,
    ) -> JsonObject:
        body: JsonObject = {"username": username, "roles": list(roles), "dms_open": dms_open}
        if guild_ids is not None:
            body["guild_ids"] = list(guild_ids)
        return self._object("POST", "users", body)

    def set_interactions_url(self, url: str | None) -> None:
        self._call("PUT", "interactions-url", {"url": url})

    def ping(self) -> JsonObject:
        return self._object("POST", "ping")
