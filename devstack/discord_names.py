"""How a member's Discord client names the ids in the messages it shows: users, roles and server
channels from the emulator's state, and DM channels after the one at the other end (the bot, for a
member), which the state does not list. The command line, ``make demo`` and the web console all
render with it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from devstack.discord_markup import Directory, directory_from_state

CHANNEL_MENTION = re.compile(r"<#(\d+)>")


class DiscordState(Protocol):
    """What is needed of the Discord emulator (or its control client)."""

    def state(self) -> Mapping[str, Any]: ...

    def messages(self, channel_id: str, *, as_user: str | None = None) -> list[dict[str, Any]]: ...


def directory_for(
    discord: DiscordState, messages: Iterable[Mapping[str, Any]], viewer: str | None
) -> Directory:
    """Names for the ids in ``messages``, as ``viewer``'s client knows them: the DMs shown, or
    mentioned in a reply to ``viewer``, are named after the bot."""
    shown = list(messages)
    state = discord.state()
    directory = directory_from_state(state)
    bot = state.get("bot_user") or {}
    known = set(directory.channels)
    dms = {
        str(message["channel_id"])
        for message in shown
        if message.get("channel_id") and "guild_id" not in message and message["channel_id"] not in known
    }
    mentioned = {
        channel_id
        for message in shown
        for channel_id in CHANNEL_MENTION.findall(_markup_of(message))
        if channel_id not in known and channel_id not in dms
    }
    if mentioned and viewer:
        dms.update(str(m["channel_id"]) for m in discord.messages(f"dm:{viewer}", as_user=viewer)[:1])
    name = str(bot.get("global_name") or bot.get("username") or "?")
    return dataclasses.replace(directory, dm_channels=dict.fromkeys(dms, name))


def _markup_of(message: Mapping[str, Any]) -> str:
    texts = [str(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        texts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        texts += [f"{field.get('name')} {field.get('value')}" for field in embed.get("fields") or []]
        texts.append(str((embed.get("footer") or {}).get("text") or ""))
    return "\n".join(texts)
