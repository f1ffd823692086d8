"""The slash commands, defined once. The deploy (CommandsFunction) and the development script
register exactly this list."""

from __future__ import annotations

import copy
from typing import Any

# https://discord.com/developers/docs/interactions/application-commands
CHAT_INPUT = 1
SUB_COMMAND = 1
OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN, OPTION_USER, OPTION_CHANNEL, OPTION_ROLE = 3, 4, 5, 6, 7, 8
OPTION_ATTACHMENT = 11
GUILD_TEXT, GUILD_ANNOUNCEMENT = 0, 5
NOTE_MAX = 1000
#: The statuses staff can set, as command choices (value = CaseStatus value).
STATUS_CHOICES = [
    {"name": "Open", "value": "open"},
    {"name": "Triaged", "value": "triaged"},
    {"name": "In progress", "value": "in_progress"},
    {"name": "Resolved", "value": "resolved"},
    {"name": "Won't fix", "value": "wont_fix"},
]
KIND_CHOICES = [
    {"name": "Bug reports", "value": "bug"},
    {"name": "Feature requests", "value": "feature"},
    {"name": "Support chats", "value": "support"},
]


def _case_number_option(description: str = "The case number, e.g. 12 for #12") -> dict[str, Any]:
    return {
        "type": OPTION_INTEGER,
        "name": "number",
        "description": description,
        "required": True,
        "min_value": 1,
    }


MESSAGE_MAX = 1500
CONTEXT_GUILD, CONTEXT_BOT_DM = 0, 1
GUILD_INSTALL = 0
MANAGE_SERVER_PERMISSION = "32"
#: Commands that make sense only in a server (not offered in the bot's DM).
SERVER_ONLY = frozenset({"setup", "announce", "feeds"})

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
        "description": "Show, update or add to a case",
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "show",
                "description": "Show one case and its history",
                "options": [_case_number_option()],
            },
            {
                "type": SUB_COMMAND,
                "name": "update",
                "description": "Staff: change a case's status; the reporter is told",
                "options": [
                    _case_number_option(),
                    {
                        "type": OPTION_STRING,
                        "name": "status",
                        "description": "The new status",
                        "required": True,
                        "choices": STATUS_CHOICES,
                    },
                    {
                        "type": OPTION_STRING,
                        "name": "note",
                        "description": "A note for the reporter, e.g. fixed in 1.4.2",
                        "required": False,
                        "max_length": NOTE_MAX,
                    },
                ],
            },
            {
                "type": SUB_COMMAND,
                "name": "add",
                "description": "Add details or a screenshot to a case you opened",
                "options": [
                    _case_number_option(),
                    {
                        "type": OPTION_STRING,
                        "name": "details",
                        "description": "What to add",
                        "required": False,
                        "max_length": NOTE_MAX,
                    },
                    {
                        "type": OPTION_ATTACHMENT,
                        "name": "screenshot",
                        "description": "A screenshot or file",
                        "required": False,
                    },
                ],
            },
        ],
    },
    {
        "name": "cases",
        "type": CHAT_INPUT,
        "description": "Staff: list this server's open cases",
        "options": [
            {
                "type": OPTION_STRING,
                "name": "kind",
                "description": "Only this kind",
                "required": False,
                "choices": KIND_CHOICES,
            },
            {
                "type": OPTION_STRING,
                "name": "status",
                "description": "Only this status (default: every open one)",
                "required": False,
                "choices": [*STATUS_CHOICES, {"name": "Duplicate", "value": "duplicate"}],
            },
            {
                "type": OPTION_USER,
                "name": "assignee",
                "description": "Only cases assigned to this member",
                "required": False,
            },
            {
                "type": OPTION_STRING,
                "name": "sort",
                "description": "Order (default: newest first)",
                "required": False,
                "choices": [
                    {"name": "Newest first", "value": "newest"},
                    {"name": "Most wanted first", "value": "support"},
                ],
            },
        ],
    },
    {
        "name": "setup",
        "type": CHAT_INPUT,
        "description": "Set this server's case channels, staff role and support hours",
        # Shown to members with Manage Server only; the endpoint and the worker check it again.
        "default_member_permissions": MANAGE_SERVER_PERMISSION,
    },
    {
        "name": "announce",
        "type": CHAT_INPUT,
        "description": "Post or schedule announcements in this server",
        # Shown to members with Manage Server; the worker also accepts the staff role.
        "default_member_permissions": MANAGE_SERVER_PERMISSION,
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "new",
                "description": "Write an announcement (a form, then a private preview)",
            },
            {
                "type": SUB_COMMAND,
                "name": "list",
                "description": "The announcements scheduled in this server",
            },
            {
                "type": SUB_COMMAND,
                "name": "cancel",
                "description": "Cancel a scheduled announcement",
                "options": [
                    {
                        "type": OPTION_STRING,
                        "name": "id",
                        "description": "Its id, as /announce list shows it",
                        "required": True,
                        "max_length": 25,
                    }
                ],
            },
        ],
    },
]


def _feed_id_subcommand(name: str, description: str) -> dict[str, Any]:
    return {
        "type": SUB_COMMAND,
        "name": name,
        "description": description,
        "options": [
            {
                "type": OPTION_STRING,
                "name": "id",
                "description": "The feed's id, as /feeds list shows it",
                "required": True,
                "max_length": 25,
            }
        ],
    }


COMMANDS.append(
    {
        "name": "feeds",
        "type": CHAT_INPUT,
        "description": "Post a website's, channel's or status page's new entries automatically",
        # As /announce: Manage Server by default; the worker also accepts the staff role.
        "default_member_permissions": MANAGE_SERVER_PERMISSION,
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "add",
                "description": "Follow an RSS or Atom feed: its new entries are posted in a channel",
                "options": [
                    {
                        "type": OPTION_STRING,
                        "name": "url",
                        "description": "The feed's address (RSS or Atom)",
                        "required": True,
                        "max_length": 500,
                    },
                    {
                        "type": OPTION_CHANNEL,
                        "name": "channel",
                        "description": "Where its entries are posted",
                        "required": True,
                        "channel_types": [GUILD_TEXT, GUILD_ANNOUNCEMENT],
                    },
                    {
                        "type": OPTION_STRING,
                        "name": "template",
                        "description": "The post's text: {title} {link} {summary} {author} {date} {image}",
                        "max_length": 1000,
                    },
                    {
                        "type": OPTION_STRING,
                        "name": "include",
                        "description": "Only entries with one of these words (comma-separated; /regex/ too)",
                        "max_length": 500,
                    },
                    {
                        "type": OPTION_STRING,
                        "name": "exclude",
                        "description": "No entries with one of these words (comma-separated; /regex/ too)",
                        "max_length": 500,
                    },
                    {"type": OPTION_ROLE, "name": "role", "description": "A role to ping with each post"},
                    {
                        "type": OPTION_BOOLEAN,
                        "name": "review_first",
                        "description": "Staff approve each entry in the staff channel before it is posted",
                    },
                    {
                        "type": OPTION_INTEGER,
                        "name": "every",
                        "description": "Minutes between reads (5 to 1440, default 15)",
                        "min_value": 5,
                        "max_value": 1440,
                    },
                    {
                        "type": OPTION_INTEGER,
                        "name": "backfill",
                        "description": "Also post the newest entries already there (0 to 10; default 0)",
                        "min_value": 0,
                        "max_value": 10,
                    },
                ],
            },
            {"type": SUB_COMMAND, "name": "list", "description": "The feeds this server follows"},
            _feed_id_subcommand("test", "Show the next post of a feed, without posting it"),
            _feed_id_subcommand("remove", "Stop following a feed"),
            _feed_id_subcommand("resume", "Read a paused feed again"),
        ],
    }
)


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
