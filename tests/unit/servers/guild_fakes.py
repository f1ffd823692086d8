"""A Discord server as its REST API shows the bot: roles, the bot's member, channels with their
permission overwrites (what servers.channel_check and /setup read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flexcord.adapters.discord import DiscordApiError
from flexcord.adapters.discord.permissions import (
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from flexcord.servers.channel_check import STATUS_TAGS

GUILD, OTHER_GUILD, BOT, BOT_ROLE = "100", "200", "999", "150"
EVERYTHING_NEEDED = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)
ALL_TAGS = [{"id": str(i), "name": name} for i, name in enumerate(("Bug", "Feature", *STATUS_TAGS))]


class FakeGuild:
    """A server as Discord's REST API shows it to the bot."""

    def __init__(self) -> None:
        self.roles: list[dict[str, Any]] = [
            {"id": GUILD, "name": "@everyone", "permissions": str(VIEW_CHANNEL | SEND_MESSAGES)},
            {"id": BOT_ROLE, "name": "Flexcord", "permissions": str(EVERYTHING_NEEDED), "managed": True},
        ]
        self.bot_roles = [BOT_ROLE]
        self.channels: dict[str, dict[str, Any]] = {}
        self.refusals: dict[str, Exception] = {}

    def add(self, channel_id: str, name: str, kind: int = 0, guild: str = GUILD, **extra: Any) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "type": kind,
            "guild_id": guild,
            "permission_overwrites": [],
            **extra,
        }

    def deny(self, channel_id: str, target: str, bits: int) -> None:
        self.channels[channel_id]["permission_overwrites"].append(
            {"id": target, "type": 0, "allow": "0", "deny": str(bits)}
        )

    def get_channel(self, channel_id: str) -> Mapping[str, Any]:
        if channel_id in self.refusals:
            raise self.refusals[channel_id]
        if channel_id not in self.channels:
            raise DiscordApiError(404, 10003, "Unknown Channel")
        return self.channels[channel_id]

    def list_guild_roles(self, guild_id: str) -> Sequence[Mapping[str, Any]]:
        return self.roles

    def get_guild_member(self, guild_id: str, user_id: str) -> Mapping[str, Any] | None:
        return {"user": {"id": user_id}, "roles": self.bot_roles} if user_id == BOT else None
