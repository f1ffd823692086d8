"""``/setup`` in the worker: show a server's settings with the controls that change them, and
save each change after checking that the member may make it and that the bot can work with it.

The settings message is ephemeral (only the admin who ran ``/setup`` sees it) and has two views,
to stay within Discord's five action rows with one select per row:

* **Channels**: a channel select for each of the bug-report, feature-request, announcements and
  support channels, offering only the channel types that fit, and the view buttons;
* **Staff & hours**: a role select for the staff role, "Edit support hours" (a form) and the view
  buttons.

Every change is re-checked here against the signed interaction that asked for it (Manage Server
or Administrator), whatever the endpoint decided and whatever its custom_id says: a member without
the permission changes nothing. A channel is saved only if the bot can do its job there; otherwise
the message says exactly which permission is missing. The message is then edited to show the
server's settings as they now are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.discord import DiscordApiError, DiscordClient
from flexcord.interactions import custom_ids as ids
from flexcord.interactions.setup_routes import BLANK, CHANNEL_VIEW, NOT_AN_ADMIN, STAFF_VIEW
from flexcord.jobs.model import Job
from flexcord.jobs.notify import tell_member
from flexcord.observability import logger, metrics
from flexcord.permissions import MANAGE_SERVER, has_permission
from flexcord.servers.channel_check import CHANNEL_USES, ChannelChecker, GuildReader
from flexcord.servers.hours import InvalidSupportHours, SupportHours
from flexcord.servers.hours_form import FORM_FIELDS, HoursForm, form_from_hours, hours_from_form
from flexcord.servers.settings import (
    CHANNEL_SETTINGS,
    STAFF_VIEW_CHANNELS,
    ServerDirectory,
    ServerSettings,
)

ACTION_ROW, BUTTON, ROLE_SELECT, CHANNEL_SELECT = 1, 2, 6, 8
PRIMARY, SECONDARY = 1, 2
EMBED_COLOUR = 0x5865F2
#: Discord's limit on an embed field's value.
FIELD_MAX = 1024
NOT_SET = "Not set"
_CHANNEL_LABELS = dict(CHANNEL_SETTINGS)
_CHANNEL_PLACEHOLDERS = {
    "bug_report_channel_id": "Bug reports: pick a text or forum channel",
    "feature_request_channel_id": "Feature requests: pick a text or forum channel",
    "announcements_channel_id": "Announcements: pick a text or announcement channel",
    "support_channel_id": "Support chats: pick a text channel",
    "staff_channel_id": "Staff notices and reviews: pick a staff-only text channel",
}


class SetupJobs:
    def __init__(
        self,
        servers: ServerDirectory,
        discord: DiscordClient,
        checker: ChannelChecker,
        *,
        guild: GuildReader | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``guild`` reads the server's roles (default: ``discord``); ``clock`` stamps changes."""
        self._servers = servers
        self._discord = discord
        self._checker = checker
        self._guild: GuildReader = guild if guild is not None else discord
        self._clock = clock

    def show(self, job: Job) -> dict[str, Any]:
        """The settings message, in the view asked for."""
        guild_id = self._admin_guild(job)
        if guild_id is None:
            return {"refused": True}
        view = STAFF_VIEW if job.payload.get("view") == STAFF_VIEW else CHANNEL_VIEW
        self._show(job, self._servers.settings_for(guild_id), view)
        return {"shown": view}

    def change(self, job: Job) -> dict[str, Any]:
        """One change from the settings message: checked, saved, and the message redrawn."""
        guild_id = self._admin_guild(job)
        if guild_id is None:
            return {"refused": True}
        setting = str(job.payload.get("setting", ""))
        view = CHANNEL_VIEW if setting in CHANNEL_USES and setting not in STAFF_VIEW_CHANNELS else STAFF_VIEW
        try:
            value, notice = self._checked_value(job, guild_id, setting)
        except DiscordApiError as refusal:
            # Discord answered and refused a read (outages and rate limits are raised, so the job
            # is retried): asking again would get the same answer.
            logger.warning("setup check refused by Discord", extra={"code": refusal.code, "setting": setting})
            value, notice = (
                None,
                f"⚠️ Discord wouldn't let me check that (error {refusal.code}). Nothing was changed.",
            )
        if value is None:
            self._show(job, self._servers.settings_for(guild_id), view, notice=notice)
            return {"saved": False, "setting": setting}
        settings = self._servers.change(
            guild_id, by=job.interaction.user_id, now=self._clock().isoformat(), **{setting: value}
        )
        logger.info("server setting changed", extra={"setting": setting, "guild_id": guild_id})
        metrics.add_metric(name="ServerSettingsChanged", unit="Count", value=1)
        self._show(job, settings, view, notice=notice)
        return {"saved": True, "setting": setting}

    # -- checks -----------------------------------------------------------------------------------

    def _checked_value(
        self, job: Job, guild_id: str, setting: str
    ) -> tuple[str | dict[str, Any] | None, str]:
        """The value to save and the line that says so; or None and why nothing is saved."""
        if setting in CHANNEL_USES:
            return self._channel_change(job, guild_id, setting)
        if setting == "staff_role_id":
            return self._role_change(guild_id, str(job.payload.get("role_id", "")))
        if setting == "hours":
            return _hours_change(job.payload.get("form"))
        logger.warning("unknown setup setting", extra={"setting": setting[:50]})
        return None, "⚠️ That setting no longer exists. Nothing was changed."

    def _admin_guild(self, job: Job) -> str | None:
        """The server the member may change settings of, re-checked from the signed interaction;
        None (and the member is told) otherwise."""
        member = job.interaction
        if member.guild_id is None or not has_permission(member.permissions, MANAGE_SERVER):
            logger.warning("setup refused: no Manage Server", extra={"user_id": member.user_id})
            tell_member(self._discord, member, content=NOT_AN_ADMIN)
            return None
        return member.guild_id

    def _channel_change(self, job: Job, guild_id: str, setting: str) -> tuple[str | None, str]:
        channel_id = str(job.payload.get("channel_id", ""))
        check = self._checker.check(
            guild_id, setting, channel_id, shown_name=str(job.payload.get("channel_name", ""))
        )
        if not check.ok:
            return None, f"⚠️ {check.problem} Nothing was changed."
        return channel_id, f"✅ {_CHANNEL_LABELS[setting]}: now <#{channel_id}>."

    def _role_change(self, guild_id: str, role_id: str) -> tuple[str | None, str]:
        role = next((r for r in self._guild.list_guild_roles(guild_id) if str(r.get("id")) == role_id), None)
        if role is None:
            return None, "⚠️ That role isn't one of this server's roles. Nothing was changed."
        if role_id == guild_id:
            return None, "⚠️ @everyone can't be the staff role: everyone would be staff. Nothing was changed."
        if role.get("managed"):
            return None, (
                f"⚠️ {role.get('name', 'That role')} belongs to a bot or an integration and can't be given "
                "to people. Pick a role your staff have. Nothing was changed."
            )
        return role_id, f"✅ Staff role: now <@&{role_id}>. Members with it see every case and its controls."

    # -- the message -----------------------------------------------------------------------------

    def _show(self, job: Job, settings: ServerSettings, view: str, *, notice: str = "") -> None:
        intro = (
            "Pick a channel below to change it; I check that I can work there before saving."
            if view == CHANNEL_VIEW
            else "Pick the staff role, or edit the support hours."
        )
        tell_member(
            self._discord,
            job.interaction,
            content=f"{notice}\n{intro}" if notice else intro,
            embeds=[settings_embed(settings, view)],
            components=channel_controls(settings) if view == CHANNEL_VIEW else staff_controls(settings),
        )


def _hours_change(form: object) -> tuple[dict[str, Any] | None, str]:
    try:
        hours = hours_from_form(HoursForm.of(form if isinstance(form, dict) else {}))
    except InvalidSupportHours as problem:
        return None, f"⚠️ Support hours not saved: {problem}"
    return hours.to_document(), f"✅ Support hours: now {hours.describe()}."


def settings_embed(settings: ServerSettings, view: str) -> dict[str, Any]:
    """The server's settings. The Staff & hours view adds the support hours as the form writes
    them (the form opens filled in from these fields)."""
    hours = _stored_hours(settings)
    fields = [
        {
            "name": label,
            "value": f"<#{getattr(settings, setting)}>" if getattr(settings, setting) else NOT_SET,
        }
        for setting, label in CHANNEL_SETTINGS
    ]
    fields.append(
        {
            "name": "Staff role",
            "value": f"<@&{settings.staff_role_id}>" if settings.staff_role_id else NOT_SET,
        }
    )
    fields.append(
        {
            "name": "Support hours",
            "value": hours.describe() if hours else "⚠️ Stored hours are unreadable: set them again.",
        }
    )
    if view == STAFF_VIEW:
        form = form_from_hours(hours or SupportHours())
        shown = dict(form.as_dict())
        fields.extend(
            {"name": label, "value": (shown[name] or BLANK)[:FIELD_MAX]}
            for name, label in FORM_FIELDS
            if name != "after_hours_message"
        )
    fields.append(
        {"name": "After-hours message", "value": (hours or SupportHours()).after_hours_message[:FIELD_MAX]}
    )
    embed: dict[str, Any] = {
        "title": "Flexcord settings for this server",
        "color": EMBED_COLOUR,
        "fields": fields,
    }
    changed = _last_change(settings)
    if changed:
        embed["description"] = changed
    return embed


def channel_controls(settings: ServerSettings) -> list[dict[str, Any]]:
    rows = [
        {"type": ACTION_ROW, "components": [_channel_select(settings, setting)]}
        for setting in CHANNEL_USES
        if setting not in STAFF_VIEW_CHANNELS
    ]
    rows.append(_view_buttons(CHANNEL_VIEW))
    return rows


def _channel_select(settings: ServerSettings, setting: str) -> dict[str, Any]:
    select: dict[str, Any] = {
        "type": CHANNEL_SELECT,
        "custom_id": ids.setup_channel_select(setting),
        "placeholder": _CHANNEL_PLACEHOLDERS[setting],
        "channel_types": CHANNEL_USES[setting].channel_types,
        "min_values": 1,
        "max_values": 1,
    }
    current = getattr(settings, setting)
    if current:
        select["default_values"] = [{"id": current, "type": "channel"}]
    return select


def staff_controls(settings: ServerSettings) -> list[dict[str, Any]]:
    select: dict[str, Any] = {
        "type": ROLE_SELECT,
        "custom_id": ids.SETUP_STAFF_ROLE,
        "placeholder": "Staff role: who sees every case and its controls",
        "min_values": 1,
        "max_values": 1,
    }
    if settings.staff_role_id:
        select["default_values"] = [{"id": settings.staff_role_id, "type": "role"}]
    hours_button = {
        "type": BUTTON,
        "style": PRIMARY,
        "label": "Edit support hours",
        "custom_id": ids.SETUP_HOURS_BUTTON,
    }
    buttons = _view_buttons(STAFF_VIEW)
    return [
        {"type": ACTION_ROW, "components": [select]},
        {"type": ACTION_ROW, "components": [_channel_select(settings, "staff_channel_id")]},
        {"type": ACTION_ROW, "components": [hours_button, *buttons["components"]]},
    ]


def _view_buttons(current: str) -> dict[str, Any]:
    """The two view buttons; the current view's is disabled."""
    return {
        "type": ACTION_ROW,
        "components": [
            {
                "type": BUTTON,
                "style": SECONDARY,
                "label": label,
                "custom_id": custom_id,
                "disabled": view == current,
            }
            for view, label, custom_id in (
                (CHANNEL_VIEW, "Channels", ids.SETUP_CHANNELS_VIEW),
                (STAFF_VIEW, "Staff & hours", ids.SETUP_STAFF_VIEW),
            )
        ],
    }


def _stored_hours(settings: ServerSettings) -> SupportHours | None:
    """The server's support hours; None when what is stored cannot be read (e.g. a time zone
    the runtime no longer knows), so the admin can see it and set them again."""
    try:
        return settings.support_hours
    except InvalidSupportHours:
        logger.warning("stored support hours unreadable", extra={"guild_id": settings.guild_id})
        return None


def _last_change(settings: ServerSettings) -> str:
    if not settings.updated_at or not settings.updated_by:
        return ""
    try:
        when = datetime.fromisoformat(settings.updated_at)
    except ValueError:
        return f"Last changed by <@{settings.updated_by}>."
    return f"Last changed by <@{settings.updated_by}> <t:{int(when.timestamp())}:R>."
