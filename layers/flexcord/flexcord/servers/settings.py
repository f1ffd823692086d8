"""A server's settings: where its cases and announcements go, who its staff are, and when its
agents are in. One deployment serves every allowed server; each keeps its own settings.

The template's channel and role parameters are the defaults of the configured server (the
deployment's default server): a setting that server never changed with ``/setup`` falls back to
them. Other servers start empty and are set up with ``/setup``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from flexcord.cases.model import NO_SERVER, CaseKind
from flexcord.observability import logger
from flexcord.permissions import MANAGE_SERVER, has_permission
from flexcord.servers.hours import InvalidSupportHours, SupportHours

#: The channel settings /setup offers, in the order it shows them: (field, label).
CHANNEL_SETTINGS = (
    ("bug_report_channel_id", "Bug reports"),
    ("feature_request_channel_id", "Feature requests"),
    ("announcements_channel_id", "Announcements"),
    ("support_channel_id", "Support (private chat threads)"),
    ("staff_channel_id", "Staff notices and reviews"),
)
#: The channel settings /setup shows on its Staff & hours view rather than its Channels view.
STAFF_VIEW_CHANNELS = frozenset({"staff_channel_id"})


@dataclass(frozen=True)
class ServerSettings:
    guild_id: str
    bug_report_channel_id: str | None = None
    feature_request_channel_id: str | None = None
    announcements_channel_id: str | None = None
    support_channel_id: str | None = None
    staff_role_id: str | None = None
    #: Where staff are told what needs them (a feed that stopped, an announcement not published)
    #: and review feed entries and webhook posts before they go out.
    staff_channel_id: str | None = None
    #: Support hours as stored (SupportHours.to_document()); None: agents are always in.
    hours: dict[str, Any] | None = None
    updated_at: str = ""
    updated_by: str = ""

    @property
    def support_hours(self) -> SupportHours:
        return SupportHours.from_document(self.hours) if self.hours else SupportHours()

    def channel_for(self, kind: CaseKind) -> str | None:
        if kind is CaseKind.BUG:
            return self.bug_report_channel_id
        if kind is CaseKind.FEATURE:
            return self.feature_request_channel_id
        return None

    def is_staff(self, roles: tuple[str, ...], permissions: str) -> bool:
        """Staff: members with the server's staff role, and its managers (Manage Server), who
        can grant themselves the role anyway."""
        return bool(self.staff_role_id and self.staff_role_id in roles) or has_permission(
            permissions, MANAGE_SERVER
        )

    def over(self, defaults: ServerSettings) -> ServerSettings:
        """These settings, with the defaults filling what was never set."""
        filled = {
            f.name: getattr(defaults, f.name)
            for f in fields(self)
            if getattr(self, f.name) is None and getattr(defaults, f.name) is not None
        }
        return replace(self, **filled)

    def to_document(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ServerSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in document.items() if name in known})


class ServerSettingsRepository(Protocol):
    def get(self, guild_id: str) -> ServerSettings | None: ...

    def update(self, guild_id: str, changes: dict[str, Any]) -> None:
        """Store the named settings (field name → value) and leave the others as they are."""
        ...


class ServerDirectory:
    """Each server's settings, with the template's defaults for the configured server (for
    every server when the defaults name none: ``guild_id`` NO_SERVER)."""

    def __init__(self, repository: ServerSettingsRepository, *, defaults: ServerSettings | None) -> None:
        self._repository = repository
        self._defaults = defaults

    def settings_for(self, guild_id: str | None) -> ServerSettings:
        """The settings of ``guild_id``; None (the bot's DMs) means the configured server."""
        guild = guild_id or (self._defaults.guild_id if self._defaults else None)
        if guild is None:
            return ServerSettings(guild_id="0")
        stored = self._repository.get(guild) or ServerSettings(guild_id=guild)
        if self._defaults is not None and self._defaults.guild_id in (guild, NO_SERVER):
            return stored.over(replace(self._defaults, guild_id=guild))
        return stored

    def support_hours_of(self, guild_id: str | None) -> SupportHours:
        """The server's support hours. Stored hours that no longer read (a time zone the zone
        data dropped) count as always open, so members still reach agents; the log says why."""
        try:
            return self.settings_for(guild_id).support_hours
        except InvalidSupportHours:
            logger.warning("the server's support hours are unreadable: treated as always open", exc_info=True)
            return SupportHours()

    def change(self, guild_id: str, *, by: str, now: str, **changes: Any) -> ServerSettings:
        known = {f.name for f in fields(ServerSettings)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        self._repository.update(guild_id, {**changes, "updated_by": by, "updated_at": now})
        return self.settings_for(guild_id)
