"""``/announce new|list|cancel`` at the endpoint: the form, its preview's buttons, the scheduled
posts, and who may use them.

The command is offered to members with Manage Server (``default_member_permissions``), a default
an admin can change. The staff role needs the server's settings (DynamoDB), which the endpoint
does not read: it lets through members with Manage Server or with any role, and the worker checks
Manage Server or the server's staff role before it stores or posts anything. Everyone else gets
an ephemeral refusal here and nothing is queued.

The form's submit queues ``announcement.draft`` (the worker keeps the draft and shows a private
preview with Post / Edit / Cancel). Post and Cancel queue ``announcement.decide``; the worker
checks the presser wrote the draft, whatever the custom_id says. Edit reopens the form filled in
from the preview the button is on (a modal must be the first answer: no database read).
``list`` and ``cancel`` queue jobs that answer privately; the worker looks the id up in the
caller's own server, so an id from another server cancels nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flexcord.announcements.model import DESCRIPTION_MAX, TITLE_MAX
from flexcord.interactions import custom_ids as ids
from flexcord.interactions import responses as reply
from flexcord.interactions.access import may_be_staff
from flexcord.interactions.case_forms import FILE_UPLOAD, LABEL, PARAGRAPH, SHORT, TEXT_INPUT
from flexcord.interactions.model import Interaction, as_list, as_mapping
from flexcord.interactions.responses import InteractionResponse
from flexcord.interactions.setup_routes import Decision, Enqueue
from flexcord.jobs.model import Job, JobKind

ROLE_SELECT = 6
NOT_STAFF = (
    "Only this server's staff (Manage Server or the staff role) can post announcements. Nothing was posted."
)
NOT_AN_IMAGE = "The picture must be an image (PNG, JPEG, GIF…). Nothing was saved."
SERVERS_ONLY = "Use `/announce` in your server: announcements belong to a server."
_DRAFT_ID = re.compile(r"[0-9]{1,25}")
_ROLE_MENTION = re.compile(r"<@&([0-9]{1,25})>")
#: The preview's "To be posted <t:…:F>" line.
_SCHEDULED_AT = re.compile(r"To be posted <t:([0-9]{9,11}):F>")
#: The longest "when" the form takes: enough for any format parse_post_time reads.
WHEN_MAX = 40


def command(interaction: Interaction) -> Decision:
    """``/announce new`` (the form; a client still showing the old bare ``/announce`` sends no
    subcommand, which is the same), ``/announce list``, ``/announce cancel id``."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    subcommand = interaction.subcommand or "new"
    if subcommand == "list":
        return Enqueue(
            Job.for_interaction(JobKind.ANNOUNCE_LIST, interaction.context), reply.deferred_ephemeral
        )
    if subcommand == "cancel":
        announcement_id = str(interaction.option("id") or "").strip().strip("`")
        if not _DRAFT_ID.fullmatch(announcement_id):
            return reply.ephemeral_message(
                "Give the id `/announce list` shows, like `/announce cancel id:1234567890`."
            )
        job = Job.for_interaction(JobKind.ANNOUNCE_CANCEL, interaction.context, {"id": announcement_id})
        return Enqueue(job, reply.deferred_ephemeral)
    return announce_modal()


def submit(interaction: Interaction) -> Decision:
    """The form: checked here so a mistake is explained at once; the worker keeps the draft."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    values = _submitted(interaction.data)
    title = str(values.get("title") or "").strip()
    text = str(values.get("text") or "").strip()
    if not title or not text:
        return reply.ephemeral_message("An announcement needs a title and a text. Nothing was saved.")
    image_url = None
    images = values.get("image") or []
    if images:
        found = interaction.resolved_attachment(images[0])
        content_type = str(as_mapping(found).get("content_type") or "")
        if found is None or not content_type.startswith("image/"):
            return reply.ephemeral_message(NOT_AN_IMAGE)
        image_url = str(found.get("url") or "") or None
    when = str(values.get("when") or "").strip()
    if len(when) > WHEN_MAX:
        return reply.ephemeral_message(
            f"The time to post is at most {WHEN_MAX} characters. Nothing was saved."
        )
    roles = values.get("role") or []
    replaces = interaction.custom_id.removeprefix(ids.ANNOUNCE_EDIT_MODAL_PREFIX)
    payload = {
        "title": title[:TITLE_MAX],
        "text": text[:DESCRIPTION_MAX],
        "image_url": image_url,
        "role_id": str(roles[0]) if roles and _DRAFT_ID.fullmatch(str(roles[0])) else None,
        # Read by the worker, in the server's time zone (its settings are not read here).
        "when": when or None,
    }
    if replaces != interaction.custom_id and _DRAFT_ID.fullmatch(replaces):
        payload["replaces"] = replaces  # the draft an Edit started from
    job = Job.for_interaction(JobKind.ANNOUNCE_DRAFT, interaction.context, payload)
    return Enqueue(job, reply.deferred_ephemeral)


def component(interaction: Interaction) -> Decision:
    """Post, Edit or Cancel on a preview."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    action, _, draft_id = interaction.custom_id.removeprefix(ids.ANNOUNCE_PREFIX).partition(":")
    if not _DRAFT_ID.fullmatch(draft_id) or action not in ("post", "edit", "cancel"):
        return reply.ephemeral_message("This button no longer does anything. Please run `/announce` again.")
    if action == "edit":
        return announce_modal(prefill_from_preview(interaction.message), replaces=draft_id)
    job = Job.for_interaction(
        JobKind.ANNOUNCE_DECIDE, interaction.context, {"draft_id": draft_id, "action": action}
    )
    return Enqueue(job, reply.deferred_update)


def announce_modal(
    prefill: Mapping[str, str] | None = None, *, replaces: str | None = None
) -> InteractionResponse:
    shown = prefill or {}
    title: dict[str, Any] = {
        "type": TEXT_INPUT,
        "custom_id": "title",
        "style": SHORT,
        "required": True,
        "max_length": TITLE_MAX,
    }
    text: dict[str, Any] = {
        "type": TEXT_INPUT,
        "custom_id": "text",
        "style": PARAGRAPH,
        "required": True,
        "max_length": min(DESCRIPTION_MAX, 4000),
    }
    if shown.get("title"):
        title["value"] = shown["title"][:TITLE_MAX]
    if shown.get("text"):
        text["value"] = shown["text"][:4000]
    role: dict[str, Any] = {
        "type": ROLE_SELECT,
        "custom_id": "role",
        "required": False,
        "min_values": 0,
        "max_values": 1,
    }
    if shown.get("role_id"):
        role["default_values"] = [{"id": shown["role_id"], "type": "role"}]
    when: dict[str, Any] = {
        "type": TEXT_INPUT,
        "custom_id": "when",
        "style": SHORT,
        "required": False,
        "max_length": WHEN_MAX,
        "placeholder": "Now. Or: 2026-12-24 09:00, 09:00, in 2h",
    }
    if shown.get("when"):
        when["value"] = shown["when"][:WHEN_MAX]
    components = [
        {"type": LABEL, "label": "Title", "component": title},
        {"type": LABEL, "label": "Text", "component": text},
        {
            "type": LABEL,
            "label": "Picture (optional)",
            "description": "An image shown under the text.",
            "component": {
                "type": FILE_UPLOAD,
                "custom_id": "image",
                "required": False,
                "min_values": 0,
                "max_values": 1,
            },
        },
        {
            "type": LABEL,
            "label": "Role to ping (optional)",
            "description": "Only this role is pinged; nobody else is.",
            "component": role,
        },
        {
            "type": LABEL,
            "label": "When to post (optional)",
            "description": "Empty: when you press Post. A time is in this server's time zone.",
            "component": when,
        },
    ]
    custom_id = f"{ids.ANNOUNCE_EDIT_MODAL_PREFIX}{replaces}" if replaces else ids.ANNOUNCE_MODAL
    return reply.modal(custom_id, "Announcement", components)


def prefill_from_preview(message: Mapping[str, Any]) -> dict[str, str]:
    """The draft as its preview shows it (the embed, the role mention in the content). A picture
    cannot be put back in a file upload: the admin attaches it again."""
    embeds = as_list(message.get("embeds"))
    embed = as_mapping(embeds[0]) if embeds else {}
    content = str(message.get("content") or "")
    found = _ROLE_MENTION.search(content)
    scheduled = _SCHEDULED_AT.search(content)
    return {
        "title": str(embed.get("title") or ""),
        "text": str(embed.get("description") or ""),
        "role_id": found.group(1) if found else "",
        # The exact moment, as Discord timestamp markup: the worker reads it back as is.
        "when": f"<t:{scheduled.group(1)}>" if scheduled else "",
    }


def _submitted(data: Mapping[str, Any]) -> dict[str, Any]:
    """custom_id → the text of a text input, or the values of a select or file upload."""
    values: dict[str, Any] = {}
    for top in as_list(data.get("components")):
        entry = as_mapping(top)
        inner = [entry.get("component")] if entry.get("type") == LABEL else as_list(entry.get("components"))
        for item in inner:
            widget = as_mapping(item)
            custom_id = widget.get("custom_id")
            if not isinstance(custom_id, str):
                continue
            if widget.get("type") == TEXT_INPUT:
                values[custom_id] = widget.get("value")
            else:
                values[custom_id] = [str(value) for value in as_list(widget.get("values"))]
    return values


def _refusal(interaction: Interaction) -> InteractionResponse | None:
    if interaction.context.guild_id is None:
        return reply.ephemeral_message(SERVERS_ONLY)
    return None if may_be_staff(interaction.context) else reply.ephemeral_message(NOT_STAFF)
