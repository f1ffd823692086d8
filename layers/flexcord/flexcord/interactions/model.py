"""The interaction payload Discord posts, read into a typed object.

Only what Flexcord uses is read; a payload without those parts is malformed (400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from discord_interactions import InteractionType

from flexcord.jobs.model import InteractionContext

SUB_COMMAND = 1


class MalformedInteraction(ValueError):
    """The JSON is valid but is not an interaction Flexcord can read. Answer 400."""


@dataclass(frozen=True)
class Interaction:
    """An interaction: its type and data, and who sent it from where (``context``, which is what
    travels on to the worker with a job)."""

    type: int
    data: Mapping[str, Any]
    context: InteractionContext
    #: The message a component was on (a component interaction, or a modal opened from one), as
    #: Discord sent it with the signed payload; empty otherwise.
    message: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, payload: Any) -> Interaction:
        if not isinstance(payload, dict):
            raise MalformedInteraction("an interaction is a JSON object")
        kind = payload.get("type")
        if not isinstance(kind, int):
            raise MalformedInteraction("the interaction has no integer type")
        if kind == InteractionType.PING:
            return cls(type=kind, data={}, context=_anonymous_context(payload))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedInteraction("the interaction has no data")
        message = as_mapping(payload.get("message"))
        return cls(type=kind, data=data, context=_context(payload), message=message)

    @property
    def id(self) -> str:
        return self.context.interaction_id

    @property
    def command_name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def custom_id(self) -> str:
        return str(self.data.get("custom_id", ""))

    @property
    def subcommand(self) -> str:
        """The subcommand used (``show`` in ``/case show``), or "" for a plain command."""
        first = next(iter(as_list(self.data.get("options"))), None)
        if isinstance(first, dict) and first.get("type") == SUB_COMMAND:
            return str(first.get("name", ""))
        return ""

    def option(self, name: str) -> Any:
        """An option's value, the subcommand's options included."""
        options = as_list(self.data.get("options"))
        if self.subcommand:
            options = as_list(options[0].get("options"))
        for option in options:
            if isinstance(option, dict) and option.get("name") == name:
                return option.get("value")
        return None

    @property
    def selected_values(self) -> list[str]:
        """What a select menu submitted (``data.values``)."""
        return [str(value) for value in as_list(self.data.get("values"))]

    def resolved_attachment(self, attachment_id: object) -> Mapping[str, Any] | None:
        """An uploaded file's details (``data.resolved.attachments``), if Discord sent them."""
        resolved = as_mapping(as_mapping(self.data.get("resolved")).get("attachments"))
        found = resolved.get(str(attachment_id))
        return found if isinstance(found, dict) else None


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else empty: a field of the wrong type is a field absent."""
    return value if isinstance(value, list) else []


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else empty."""
    return value if isinstance(value, dict) else {}


def attachment_size(found: Mapping[str, Any]) -> int:
    """An attachment's size in bytes as Discord states it; 0 when it is missing or not a count
    (as before: the size only guards the 10 MB limit early, the worker downloads the file)."""
    size = found.get("size")
    if isinstance(size, str) and size.isdecimal() and len(size) <= 20:
        size = int(size)
    return size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0


def _context(payload: dict[str, Any]) -> InteractionContext:
    for required in ("id", "application_id", "token"):
        if not isinstance(payload.get(required), str) or not payload[required]:
            raise MalformedInteraction(f"the interaction has no {required}")
    # In a server the user is inside `member`; in a DM it is `user`.
    member = payload.get("member")
    member = member if isinstance(member, dict) else {}
    user = member.get("user") or payload.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        raise MalformedInteraction("the interaction names no user")
    roles = member.get("roles")
    username = str(user.get("username", ""))
    channel = payload.get("channel")
    return InteractionContext(
        interaction_id=payload["id"],
        application_id=payload["application_id"],
        token=payload["token"],
        user_id=str(user["id"]),
        username=username,
        display_name=str(member.get("nick") or user.get("global_name") or username),
        roles=tuple(str(role) for role in roles) if isinstance(roles, list) else (),
        guild_id=_optional_str(payload.get("guild_id")),
        channel_id=_optional_str(
            payload.get("channel_id") or (channel.get("id") if isinstance(channel, dict) else None)
        ),
        locale=str(payload.get("locale") or payload.get("guild_locale") or "en-US"),
        permissions=_permissions(member.get("permissions")),
    )


def _permissions(value: Any) -> str:
    """A permission bitset as Discord sends it (a decimal string); "0" for anything else."""
    return value if isinstance(value, str) and value.isascii() and value.isdigit() else "0"


def _anonymous_context(payload: dict[str, Any]) -> InteractionContext:
    """A PING names no user: it only proves the endpoint answers."""
    return InteractionContext(
        interaction_id=str(payload.get("id", "")),
        application_id=str(payload.get("application_id", "")),
        token="",
        user_id="",
        username="",
        display_name="",
        roles=(),
        guild_id=None,
        channel_id=None,
        locale="en-US",
    )


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None
