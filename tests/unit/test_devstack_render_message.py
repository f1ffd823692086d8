"""How ``python -m devstack`` prints a Discord message: its markup rendered, its files, and each
button or menu with the command that uses it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from devstack.__main__ import render_message
from devstack.discord_markup import Directory

DIRECTORY = Directory(users={"1": "Alice"}, channels={"2": "bug-report"}, roles={"3": "staff"}, timezone=UTC)


def message(**fields: Any) -> dict[str, Any]:
    return {"id": "900", "author": {"username": "flexcord"}, "flags": 0, **fields}


def test_content_and_embeds_are_rendered_markup() -> None:
    shown = render_message(
        message(
            content="**Hi** <@1>, see <#2> <t:1796288892:f>",
            flags=64,
            embeds=[
                {
                    "title": "🐞 Bug report #1: __Shiny__",
                    "color": 0xE74C3C,
                    "description": "**What happened?**\nIt reset\n\n**Steps**\n1. Catch\n2. Check",
                    "fields": [
                        {"name": "Reporter", "value": "<@1>", "inline": True},
                        {
                            "name": "**History**",
                            "value": "<t:1796288892:t> opened\n<t:1796288892:t> by <@&3>",
                        },
                    ],
                    "footer": {"text": "Case #1 · bug"},
                }
            ],
            attachments=[{"filename": "shot.png", "url": "http://127.0.0.1/shot.png"}],
        ),
        DIRECTORY,
    )
    assert shown == "\n".join(
        [
            "[flexcord] (only you can see this)",
            "  Hi @Alice, see #bug-report December 3, 2026 at 09:08",
            "  ┃ 🐞 Bug report #1: Shiny",
            "  ┃ What happened?",
            "  ┃ It reset",
            "  ┃",
            "  ┃ Steps",
            "  ┃ 1. Catch",
            "  ┃ 2. Check",
            "  ┃ Reporter: @Alice",
            "  ┃ History: 09:08 opened",
            "  ┃ 09:08 by @staff",
            "  ┃ Case #1 · bug",
            "  📎 shot.png http://127.0.0.1/shot.png",
        ]
    )


COMPONENTS = [
    {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "View case", "custom_id": "case:show:1"},
            {"type": 2, "style": 2, "label": "Old", "custom_id": "case:old:1", "disabled": True},
            {"type": 2, "style": 5, "label": "Help centre", "url": "https://help.example.com/a"},
        ],
    },
    {
        "type": 1,
        "components": [
            {
                "type": 3,
                "custom_id": "case:status:1",
                "placeholder": "Set the status",
                "options": [{"label": "Open", "value": "open"}, {"label": "Resolved", "value": "resolved"}],
            }
        ],
    },
    {"type": 1, "components": [{"type": 8, "custom_id": "setup:channel", "placeholder": "Pick a channel"}]},
]


def test_a_message_without_a_token_is_pressed_by_its_id() -> None:
    shown = render_message(message(content="Pick one", components=COMPONENTS), DIRECTORY, user="alice")
    assert shown.split("\n")[2:] == [
        "  [View case] (case:show:1)  [Old] (case:old:1, disabled)  [Help centre] ↗ https://help.example.com/a",
        "    press: python -m devstack click alice --message 900 case:show:1",
        "  [▾ Set the status] (case:status:1)",
        "    choose: python -m devstack select alice --message 900 case:status:1 VALUE"
        "  (one of: open, resolved)",
        "  [▾ Pick a channel] (setup:channel)",
        "    choose: python -m devstack select alice --message 900 setup:channel VALUE"
        "  (a channel's name or id)",
    ]


def test_a_reply_is_pressed_with_its_token_and_a_channel_view_names_no_one() -> None:
    buttons = COMPONENTS[:1]
    replied = render_message(message(components=buttons), DIRECTORY, user="mod", token="TOKEN")
    assert "    press: python -m devstack click mod TOKEN case:show:1" in replied.split("\n")
    anyone = render_message(message(components=buttons), DIRECTORY)
    assert "    press: python -m devstack click <user> --message 900 case:show:1" in anyone.split("\n")
