"""How cases look in Discord: embeds and list lines, kept inside Discord's embed limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexcord.cases.model import Case, CaseKind, CaseStatus

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELD_VALUE_MAX = 1024
EMBED_TOTAL_MAX = 6000

_KIND_STYLE: dict[CaseKind, tuple[str, int]] = {
    CaseKind.BUG: ("🐞", 0xE5484D),
    CaseKind.FEATURE: ("💡", 0x3E63DD),
    CaseKind.SUPPORT: ("🎧", 0x8E8C99),
}
_STATUS_ICON: dict[CaseStatus, str] = {
    CaseStatus.OPEN: "🟢",
    CaseStatus.TRIAGED: "🔎",
    CaseStatus.IN_PROGRESS: "🛠️",
    CaseStatus.RESOLVED: "✅",
    CaseStatus.WONT_FIX: "🚫",
    CaseStatus.DUPLICATE: "🔁",
}


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def discord_timestamp(iso: str, style: str = "f") -> str:
    """Discord renders <t:epoch:style> in each reader's own time zone and language."""
    return f"<t:{int(datetime.fromisoformat(iso).timestamp())}:{style}>"


def status_text(status: CaseStatus) -> str:
    return f"{_STATUS_ICON[status]} {status.label}"


def case_embed(case: Case, *, image_url: str | None = None, with_history: bool = False) -> dict[str, Any]:
    emoji, colour = _KIND_STYLE[case.kind]
    fields: list[dict[str, Any]] = [
        {"name": "Status", "value": status_text(case.status), "inline": True},
        {"name": "Reporter", "value": f"<@{case.reporter.user_id}>", "inline": True},
        {"name": "Opened", "value": discord_timestamp(case.created_at), "inline": True},
    ]
    linked = [a for a in case.attachments if not (image_url and a.is_image)]
    if linked:
        links = "\n".join(f"[{a.filename}]({a.kept_url or a.source_url})" for a in linked)
        fields.append({"name": "Attachments", "value": truncate(links, EMBED_FIELD_VALUE_MAX)})
    if with_history:
        lines = [_history_line(event.at, event.action, event.to_status) for event in case.history]
        fields.append({"name": "History", "value": truncate("\n".join(lines), EMBED_FIELD_VALUE_MAX)})
    embed: dict[str, Any] = {
        "title": truncate(f"{emoji} {case.kind.label} #{case.number}: {case.title}", EMBED_TITLE_MAX),
        "color": colour,
        "fields": fields,
        "footer": {"text": f"Case #{case.number} · {case.kind.value}"},
        "timestamp": case.created_at,
    }
    if image_url:
        embed["image"] = {"url": image_url}
    # The description takes whatever room the other parts leave under the 6,000-character total.
    room = EMBED_TOTAL_MAX - _embed_text_length(embed)
    description = "\n\n".join(f"**{section.label}**\n{section.text}" for section in case.sections)
    if description:
        embed["description"] = truncate(description, min(EMBED_DESCRIPTION_MAX, room))
    return embed


def case_list_line(case: Case) -> str:
    emoji, _ = _KIND_STYLE[case.kind]
    return (
        f"**#{case.number}** {emoji} {truncate(case.title, 80)} · {status_text(case.status)} · "
        f"opened {discord_timestamp(case.created_at, 'R')}"
    )


def _history_line(at: str, action: str, to_status: CaseStatus | None) -> str:
    change = f" → {to_status.label}" if to_status and action != "opened" else ""
    return f"{discord_timestamp(at, 'f')} {action.replace('_', ' ')}{change}"


def _embed_text_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += sum(len(field["name"]) + len(field["value"]) for field in embed.get("fields", []))
    return total
