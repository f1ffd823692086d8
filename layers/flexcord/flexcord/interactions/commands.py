"""The slash commands, defined once. The deploy (CommandsFunction) and the development script
register exactly this list."""

from __future__ import annotations

import copy
from typing import Any

# https://discord.com/developers/docs/interactions/application-commands
CHAT_INPUT = 1
OPTION_STRING, OPTION_INTEGER, OPTION_ATTACHMENT = 3, 4, 11
MESSAGE_MAX = 1500
CONTEXT_GUILD, CONTEXT_BOT_DM = 0, 1
GUILD_INSTALL = 0
MANAGE_SERVER_PERMISSION = "32"
#: Commands that make sense only in a server (not offered in the bot's DM).
SERVER_ONLY = frozenset({"setup"})

COMMANDS: list[dict[str, Any]] = [
    {
        "name": "helpme",
        "type": CHAT_INPUT,
        "description": "Open a private support chat (or get back to yours)",
        "options": [
            {
                "type": OPTION_STRING,
                "name": "question",
                "description": "What do you need help with?",
                "required": False,
                "max_length": MESSAGE_MAX,
            }
        ],
    },
    {
        "name": "reply",
        "type": CHAT_INPUT,
        "description": "Send a message in your support chat",
        "options": [
            {
                "type": OPTION_STRING,
                "name": "message",
                "description": "Your message",
                "required": True,
                "max_length": MESSAGE_MAX,
            },
            {
                "type": OPTION_ATTACHMENT,
                "name": "attachment",
                "description": "A file to send",
                "required": False,
            },
        ],
    },
    {"name": "agent", "type": CHAT_INPUT, "description": "Talk to a human agent in your support chat"},
    {"name": "endchat", "type": CHAT_INPUT, "description": "End your support chat"},
    {
        "name": "bug",
        "type": CHAT_INPUT,
        "description": "Report a bug: a short form, with an optional screenshot",
    },
    {
        "name": "new_feature",
        "type": CHAT_INPUT,
        "description": "Suggest a feature or an improvement",
    },
    {
        "name": "mycases",
        "type": CHAT_INPUT,
        "description": "List the bug reports and requests you opened",
    },
    {
        "name": "case",
        "type": CHAT_INPUT,
        "description": "Show one case and its history",
        "options": [
            {
                "type": OPTION_INTEGER,
                "name": "number",
                "description": "The case number, e.g. 12 for #12",
                "required": True,
                "min_value": 1,
            }
        ],
    },
    {
        "name": "setup",
        "type": CHAT_INPUT,
        "description": "Set this server's case channels, staff role and support hours",
        # Shown to members with Manage Server only; the endpoint and the worker check it again.
        "default_member_permissions": MANAGE_SERVER_PERMISSION,
    },
]


def commands_for_registration(*, guild_id: str | None) -> list[dict[str, Any]]:
    """The command list to PUT. Global commands say where they may be used (servers and the
    bot's DM, server installs only); guild commands must not carry those fields."""
    commands = copy.deepcopy(COMMANDS)
    if guild_id is None:
        for command in commands:
            command["contexts"] = (
                [CONTEXT_GUILD] if command["name"] in SERVER_ONLY else [CONTEXT_GUILD, CONTEXT_BOT_DM]
            )
            command["integration_types"] = [GUILD_INSTALL]
    return commands
