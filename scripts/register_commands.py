"""Registers Flexcord's slash commands for development, outside a deploy.

    DISCORD_APPLICATION_ID=... DISCORD_BOT_TOKEN=... [DISCORD_GUILD_ID=...] \\
        python scripts/register_commands.py

With DISCORD_GUILD_ID the commands are guild commands (they show up at once: use this while
developing); without it they are global. DISCORD_API_BASE_URL points it at the local emulator.
The deploy registers the same list through the DiscordCommands custom resource.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "flexcord"))

from flexcord.adapters.discord.bot import discord_client
from flexcord.config import ConfigurationError, discord_settings
from flexcord.registration import register_commands


def main() -> int:
    try:
        settings = discord_settings()
        registered = register_commands(discord_client(settings), guild_id=settings.guild_id)
    except ConfigurationError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    scope = f"guild {settings.guild_id}" if settings.guild_id else "global"
    print(f"registered {len(registered)} {scope} commands: " + ", ".join(f"/{c['name']}" for c in registered))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
