"""How cases look in Discord: embeds and list lines, kept inside Discord's embed limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexcord.cases.model import Case, CaseEvent, CaseKind, CaseStatus
from flexcord.interactions import custom_ids as ids

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


def case_embed(
    case: Case, *, image_url: str | None = None, with_history: bool = False, for_staff: bool = False
) -> dict[str, Any]:
    """The case as an embed. ``with_history`` adds its history; staff-only notes appear in it
    only ``for_staff``."""
    emoji, colour = _KIND_STYLE[case.kind]
    fields: list[dict[str, Any]] = [
        {"name": "Status", "value": status_text(case.status), "inline": True},
        {"name": "Reporter", "value": f"<@{case.reporter.user_id}>", "inline": True},
        {"name": "Opened", "value": discord_timestamp(case.created_at), "inline": True},
    ]
    if case.assignee:
        fields.append({"name": "Assigned to", "value": f"<@{case.assignee.user_id}>", "inline": True})
    if case.kind is CaseKind.FEATURE or case.supporters:
        fields.append({"name": "Support", "value": f"👍 {case.support_count}", "inline": True})
    if case.duplicate_of:
        fields.append({"name": "Duplicate of", "value": f"#{case.duplicate_of}", "inline": True})
    if case.rating is not None:
        comment = f" · “{truncate(case.rating_comment, 200)}”" if case.rating_comment else ""
        fields.append({"name": "Rating", "value": f"{'★' * case.rating}{'☆' * (5 - case.rating)}{comment}"})
    linked = [a for a in case.attachments if not (image_url and a.is_image)]
    if linked:
        links = "\n".join(f"[{a.filename}]({a.kept_url or a.source_url})" for a in linked)
        fields.append({"name": "Attachments", "value": truncate(links, EMBED_FIELD_VALUE_MAX)})
    if with_history:
        lines = [_history_line(event, for_staff) for event in case.history]
        # The newest entries matter most: keep the tail when the history is long.
        text = "\n".join(lines)
        if len(text) > EMBED_FIELD_VALUE_MAX:
            text = "…\n" + text[-(EMBED_FIELD_VALUE_MAX - 2) :].split("\n", 1)[-1]
        fields.append({"name": "History", "value": text})
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


def _history_line(event: CaseEvent, for_staff: bool) -> str:
    action = event.action
    change = f" → {event.to_status.label}" if event.to_status and action != "opened" else ""
    who = f" by {event.actor_name}" if event.actor_name else ""
    visible = for_staff or action != "note" or event.tell_reporter
    if action == "note" and not visible:
        return f"{discord_timestamp(event.at, 'f')} staff note"
    note = f": {truncate(event.note, 160)}" if event.note and visible else ""
    return f"{discord_timestamp(event.at, 'f')} {action.replace('_', ' ')}{change}{who}{note}"


def case_controls(case: Case) -> list[dict[str, Any]]:
    """The controls under a case post: staff triage (status, notes, duplicate, assignment) and,
    on feature requests, Me too. Anyone sees them; the worker refuses non-staff."""
    status_options = [
        {
            "label": status.label,
            "value": status.value,
            "emoji": {"name": _STATUS_ICON[status]},
            "default": status is case.status,
        }
        for status in CaseStatus
        if status is not CaseStatus.DUPLICATE or case.status is CaseStatus.DUPLICATE
    ]
    rows: list[dict[str, Any]] = [
        {
            "type": 1,
            "components": [
                {
                    "type": 3,
                    "custom_id": ids.case_control(ids.CASE_STATUS_SELECT, case.number),
                    "placeholder": "Staff: set the status",
                    "options": status_options,
                    "min_values": 1,
                    "max_values": 1,
                }
            ],
        },
        {
            "type": 1,
            "components": [
                _button(ids.CASE_TELL, case.number, "Update reporter", "✉️"),
                _button(ids.CASE_NOTE, case.number, "Add note", "📝"),
                _button(ids.CASE_DUPLICATE, case.number, "Mark duplicate", "🔁"),
                _button(ids.CASE_ASSIGN, case.number, "Assign to me", "🙋"),
            ],
        },
    ]
    if case.kind is CaseKind.FEATURE:
        me_too = _button(ids.CASE_ME_TOO, case.number, f"Me too ({case.support_count})", "👍", style=1)
        rows.append({"type": 1, "components": [me_too]})
    return rows


def _button(action: str, number: int, label: str, emoji: str, *, style: int = 2) -> dict[str, Any]:
    return {
        "type": 2,
        "style": style,
        "label": label,
        "emoji": {"name": emoji},
        "custom_id": ids.case_control(action, number),
    }


def _embed_text_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += sum(len(field["name"]) + len(field["value"]) for field in embed.get("fields", []))
    return total
