"""The control API under ``/_emulator/``: lets another process (the local stack, an end-to-end
test) act as Discord's members and inspect what they see. JSON in, JSON out; client errors are
``400 {"error": "..."}``."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from devstack.control_routes import (
    ControlRequestError,
    EmulatorControlRoutes,
    JsonObject,
    json_object,
    optional_str,
)
from devstack.http_server import HttpRequest

from .interactions import FileSpec

if TYPE_CHECKING:
    from .emulator import DiscordEmulator


def decode_file(spec: Any) -> FileSpec:
    """``{"filename", "content_base64", "content_type"}`` → ``(filename, bytes, content_type)``."""
    item = json_object(spec, "a file")
    try:
        data = base64.b64decode(str(item.get("content_base64", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ControlRequestError("content_base64 is not valid base64") from exc
    return str(item["filename"]), data, str(item.get("content_type") or "")


class ControlApi(EmulatorControlRoutes["DiscordEmulator"]):
    client_errors = (ValueError, KeyError, TypeError, RuntimeError)

    def __init__(self, emulator: DiscordEmulator) -> None:
        super().__init__(
            emulator,
            [
                ("POST", ("command",), self._command),
                ("POST", ("modal-submit",), self._modal_submit),
                ("POST", ("click",), self._click),
                ("POST", ("select",), self._select),
                ("POST", ("guilds",), self._add_guild),
                ("PUT", ("guilds", "*", "members", "*"), self._join_guild),
                ("POST", ("guilds", "*", "channels"), self._create_channel),
                ("PUT", ("channels", "*", "overwrites", "*"), self._set_overwrite),
                ("POST", ("ping",), self._ping),
                ("POST", ("users",), self._add_user),
                ("PUT", ("interactions-url",), self._set_interactions_url),
                ("GET", ("channels", "*", "messages"), self._messages),
                ("GET", ("threads",), self._threads),
                ("GET", ("threads", "*", "members"), self._thread_members),
                ("GET", ("interactions", "*"), self._interaction),
            ],
        )

    def _messages(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return self.emulator.messages(captured[0], as_user=request.query.get("as_user") or None)

    def _threads(self, body: Any, request: HttpRequest, captured: list[str]) -> list[JsonObject]:
        return self.emulator.threads(request.query.get("parent") or None)

    def _thread_members(self, body: Any, request: HttpRequest, captured: list[str]) -> list[str]:
        return self.emulator.thread_members(captured[0])

    def _interaction(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        return self.emulator.interaction_summary(captured[0])

    def _command(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        attachments = {
            name: decode_file(spec)
            for name, spec in json_object(payload.get("attachments") or {}, "attachments").items()
        }
        result = self.emulator.run_command(
            str(payload["user"]),
            str(payload["name"]),
            json_object(payload.get("options") or {}, "options"),
            channel=str(payload.get("channel") or "general"),
            attachments=attachments or None,
            guild_id=optional_str(payload, "guild_id"),
        )
        return result.to_dict()

    def _modal_submit(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        files = {
            custom_id: [decode_file(spec) for spec in specs]
            for custom_id, specs in json_object(payload.get("files") or {}, "files").items()
        }
        channel = payload.get("channel")
        result = self.emulator.submit_modal(
            str(payload["user"]),
            json_object(payload["modal"], "modal"),
            json_object(payload.get("values") or {}, "values"),
            files or None,
            channel=str(channel) if channel else None,
            guild_id=optional_str(payload, "guild_id"),
        )
        return result.to_dict()

    def _click(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        values = payload.get("values")
        result = self.emulator.click(
            str(payload["user"]),
            json_object(payload["message"], "message"),
            str(payload["custom_id"]),
            values=[str(v) for v in values] if isinstance(values, list) else None,
            guild_id=optional_str(payload, "guild_id"),
        )
        return result.to_dict()

    def _select(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        values = payload.get("values")
        if not isinstance(values, list):
            raise ControlRequestError("values must be a list")
        result = self.emulator.select(
            str(payload["user"]),
            str(payload["message_id"]),
            str(payload["custom_id"]),
            [str(v) for v in values],
            guild_id=optional_str(payload, "guild_id"),
        )
        return result.to_dict()

    def _add_guild(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        guild_id = self.emulator.add_guild(str(payload["name"]), owner=optional_str(payload, "owner"))
        return {
            "id": guild_id,
            "channels": self.emulator.channel_ids_of(guild_id),
            "staff_role_id": self.emulator.staff_role_id_of(guild_id),
        }

    def _join_guild(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body or {}, "body")
        return self.emulator.join_guild(
            captured[1], captured[0], roles=[str(role) for role in payload.get("roles") or []]
        )

    def _create_channel(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        tags = payload.get("available_tags") or []
        if not isinstance(tags, list):
            raise ControlRequestError("available_tags must be a list")
        return self.emulator.create_channel(
            captured[0],
            str(payload["name"]),
            type=int(payload.get("type", 0)),
            available_tags=[json_object(tag, "tag") for tag in tags],
            topic=optional_str(payload, "topic"),
        )

    def _set_overwrite(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body or {}, "body")
        self.emulator.set_channel_overwrite(
            captured[0],
            captured[1],
            allow=int(payload.get("allow") or 0),
            deny=int(payload.get("deny") or 0),
            guild_id=optional_str(payload, "guild_id"),
        )
        return self.emulator.channel(captured[0], guild_id=optional_str(payload, "guild_id"))

    def _ping(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        response = self.emulator.ping()
        return {"status_code": response.status_code, "body": response.text}

    def _add_user(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        return self.emulator.add_user(
            str(payload["username"]),
            roles=[str(role) for role in payload.get("roles") or []],
            dms_open=bool(payload.get("dms_open", True)),
            guild_ids=[str(g) for g in payload["guild_ids"]]
            if isinstance(payload.get("guild_ids"), list)
            else None,
        )

    def _set_interactions_url(self, body: Any, request: HttpRequest, captured: list[str]) -> JsonObject:
        payload = json_object(body, "body")
        url = payload.get("url")
        self.emulator.interactions_url = str(url) if url else None
        return {"interactions_url": self.emulator.interactions_url}
