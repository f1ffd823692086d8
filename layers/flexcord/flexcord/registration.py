"""Registering the slash commands with Discord, for the deploy's custom resource and for the
development script."""

from __future__ import annotations

from typing import Any

from flexcord.adapters.discord import DiscordClient
from flexcord.interactions.commands import commands_for_registration


def register_commands(discord: DiscordClient, *, guild_id: str | None) -> list[dict[str, Any]]:
    """Replace the application's commands with Flexcord's (guild commands when a guild id is given:
    they apply at once, which suits testing; otherwise global commands)."""
    return discord.put_application_commands(commands_for_registration(guild_id=guild_id), guild_id=guild_id)
