"""``/setup`` at the endpoint: who may use it, and what each of its controls asks the worker.

The command is registered for members with Manage Server only (``default_member_permissions``),
but that is a default an admin can change for any role: every use, the command and each select,
button and form, is checked here against the member's permissions in the signed interaction, and
the worker checks again before it changes anything. A refused member gets an ephemeral message and
nothing is queued.

Each decision is either an answer or a job to queue (``Enqueue``); ``routes.py`` queues it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flexcord.interactions import custom_ids as ids
from flexcord.interactions import responses as reply
from flexcord.interactions.case_forms import LABEL, PARAGRAPH, SHORT, TEXT_INPUT, submitted_values
from flexcord.interactions.model import Interaction, as_list, as_mapping
from flexcord.interactions.responses import InteractionResponse
from flexcord.jobs.model import Job, JobKind
from flexcord.permissions import MANAGE_SERVER, has_permission
from flexcord.servers.hours import AFTER_HOURS_MESSAGE_MAX_LENGTH, InvalidSupportHours
from flexcord.servers.hours_form import FORM_FIELDS, HoursForm, hours_from_form
from flexcord.servers.settings import CHANNEL_SETTINGS

NOT_AN_ADMIN = (
    "Only members with the **Manage Server** permission can change Flexcord's settings. Nothing was changed."
)
SERVERS_ONLY = "Use `/setup` in your server: settings belong to a server, not to the bot's DMs."
STALE_CONTROL = "This setting no longer does anything. Please run `/setup` again."
CHANNEL_VIEW, STAFF_VIEW = "channels", "staff"
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_CHANNEL_SETTINGS = {setting for setting, _ in CHANNEL_SETTINGS}
#: What an empty field of the settings message shows (and the form reads back as blank).
BLANK = "—"


@dataclass(frozen=True)
class Enqueue:
    """Queue ``job``, then answer with ``answer()``."""

    job: Job
    answer: Callable[[], InteractionResponse]


Decision = InteractionResponse | Enqueue


def open_setup(interaction: Interaction) -> Decision:
    """``/setup``: the worker answers with the settings, privately."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    job = Job.for_interaction(JobKind.SETUP_SHOW, interaction.context, {"view": CHANNEL_VIEW})
    return Enqueue(job, reply.deferred_ephemeral)


def component(interaction: Interaction) -> Decision:
    """A select or button of the settings message. The worker edits that message."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    custom_id = interaction.custom_id
    if custom_id == ids.SETUP_HOURS_BUTTON:
        return hours_modal(prefill_from_message(interaction.message))
    views = {ids.SETUP_CHANNELS_VIEW: CHANNEL_VIEW, ids.SETUP_STAFF_VIEW: STAFF_VIEW}
    if custom_id in views:
        job = Job.for_interaction(JobKind.SETUP_SHOW, interaction.context, {"view": views[custom_id]})
        return Enqueue(job, reply.deferred_update)
    payload = _change_asked(interaction)
    if payload is None:
        return reply.ephemeral_message(STALE_CONTROL)
    return Enqueue(
        Job.for_interaction(JobKind.SETUP_CHANGE, interaction.context, payload), reply.deferred_update
    )


def _change_asked(interaction: Interaction) -> dict[str, str] | None:
    """What a select asks to change, or None for a control that does not exist (any more)."""
    custom_id = interaction.custom_id
    chosen = _one_snowflake(interaction.data)
    if chosen is None:
        return None
    if custom_id == ids.SETUP_STAFF_ROLE:
        return {"setting": "staff_role_id", "role_id": chosen}
    setting = custom_id.removeprefix(ids.SETUP_CHANNEL_PREFIX)
    if not custom_id.startswith(ids.SETUP_CHANNEL_PREFIX) or setting not in _CHANNEL_SETTINGS:
        return None
    # The name the admin saw, to name the channel if the bot cannot read it; nothing else.
    resolved = as_mapping(as_mapping(interaction.data.get("resolved")).get("channels"))
    name = as_mapping(resolved.get(chosen)).get("name")
    return {"setting": setting, "channel_id": chosen, "channel_name": str(name or "")[:100]}


def submit_hours(interaction: Interaction) -> Decision:
    """The support hours form: checked here so a mistake is explained at once (nothing queued,
    nothing saved); the worker parses it again before saving."""
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    form = HoursForm.of(submitted_values(interaction.data))
    try:
        hours_from_form(form)
    except InvalidSupportHours as problem:
        return reply.ephemeral_message(f"⚠️ Support hours not saved: {problem}")
    job = Job.for_interaction(
        JobKind.SETUP_CHANGE, interaction.context, {"setting": "hours", "form": form.as_dict()}
    )
    return Enqueue(job, reply.deferred_update)


def hours_modal(prefill: HoursForm) -> InteractionResponse:
    inputs: dict[str, tuple[int, int, str, str]] = {
        # name: (style, max length, placeholder, description)
        "days": (SHORT, 100, "Mon-Fri", "Like Mon-Fri, or Mon, Wed, Sat. Blank: always open."),
        "hours": (SHORT, 40, "09:00-17:00", "Opening-closing, 24-hour, e.g. 09:00-17:00, or “always open”."),
        "time_zone": (
            SHORT,
            64,
            "Europe/Paris",
            "An IANA time zone name, e.g. Europe/Paris or America/New_York.",
        ),
        "holidays": (
            PARAGRAPH,
            1000,
            "2026-12-25, 2027-01-01",
            "Closed all day on these dates (YYYY-MM-DD).",
        ),
        "after_hours_message": (
            PARAGRAPH,
            AFTER_HOURS_MESSAGE_MAX_LENGTH,
            "Our agents are away right now.",
            "What members see outside support hours.",
        ),
    }
    components = []
    for name, label in FORM_FIELDS:
        style, max_length, placeholder, description = inputs[name]
        text_input: dict[str, Any] = {
            "type": TEXT_INPUT,
            "custom_id": name,
            "style": style,
            "required": False,
            "max_length": max_length,
            "placeholder": placeholder,
        }
        value = getattr(prefill, name)[:max_length]
        if value:
            text_input["value"] = value
        components.append(
            {"type": LABEL, "label": label, "description": description, "component": text_input}
        )
    return reply.modal(ids.SETUP_HOURS_MODAL, "Support hours", components)


def prefill_from_message(message: Mapping[str, Any]) -> HoursForm:
    """The current hours, read back from the settings message the button is on (its embed shows
    each form field under the same label): the form opens filled in without a database read.
    It is only a starting point: what is submitted is checked in full."""
    shown: dict[str, str] = {}
    for embed in as_list(message.get("embeds")):
        for embed_field in as_list(as_mapping(embed).get("fields")):
            entry = as_mapping(embed_field)
            name, value = entry.get("name"), entry.get("value")
            if isinstance(name, str) and isinstance(value, str):
                shown[name] = "" if value == BLANK else value
    return HoursForm.of({name: shown.get(label, "") for name, label in FORM_FIELDS})


def _refusal(interaction: Interaction) -> InteractionResponse | None:
    context = interaction.context
    if context.guild_id is None:
        return reply.ephemeral_message(SERVERS_ONLY)
    if not has_permission(context.permissions, MANAGE_SERVER):
        return reply.ephemeral_message(NOT_AN_ADMIN)
    return None


def _one_snowflake(data: Mapping[str, Any]) -> str | None:
    values = as_list(data.get("values"))
    if len(values) != 1 or not isinstance(values[0], str) or not _SNOWFLAKE.fullmatch(values[0]):
        return None
    return values[0]
