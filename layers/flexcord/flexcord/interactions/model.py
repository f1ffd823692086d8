"""The interaction payload Discord posts, read into a typed object.

Only what Flexcord uses is read; a payload without those parts is malformed (400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from discord_interactions import InteractionType

from flexcord.jobs.model import InteractionContext


class MalformedInteraction(ValueError):
    """The JSON is valid but is not an interaction Flexcord can read. Answer 400."""


@dataclass(frozen=True)
class Interaction:
    id: str
    application_id: str
    type: int
    token: str
    data: Mapping[str, Any]
    user_id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    guild_id: str | None
    channel_id: str | None
    locale: str

    @classmethod
    def parse(cls, payload: Any) -> Interaction:
        if not isinstance(payload, dict):
            raise MalformedInteraction("an interaction is a JSON object")
        kind = payload.get("type")
        if not isinstance(kind, int):
            raise MalformedInteraction("the interaction has no integer type")
        if kind == InteractionType.PING:
            return cls(
                id=str(payload.get("id", "")), application_id=str(payload.get("application_id", "")),
                type=kind, token="", data={}, user_id="", username="", display_name="", roles=(),
                guild_id=None, channel_id=None, locale="en-US",
            )  # fmt: skip
        # In a server the user is inside `member`; in a DM it is `user`.
        member = payload.get("member")
        user = (member.get("user") if isinstance(member, dict) else None) or payload.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            raise MalformedInteraction("the interaction names no user")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedInteraction("the interaction has no data")
        for required in ("id", "application_id", "token"):
            if not isinstance(payload.get(required), str) or not payload[required]:
                raise MalformedInteraction(f"the interaction has no {required}")
        roles = member.get("roles", []) if isinstance(member, dict) else []
        username = str(user.get("username", ""))
        display_name = (
            (member.get("nick") if isinstance(member, dict) else None) or user.get("global_name") or username
        )
        return cls(
            id=payload["id"],
            application_id=payload["application_id"],
            type=kind,
            token=payload["token"],
            data=data,
            user_id=str(user["id"]),
            username=username,
            display_name=str(display_name),
            roles=tuple(str(role) for role in roles) if isinstance(roles, list) else (),
            guild_id=_optional_str(payload.get("guild_id")),
            channel_id=_optional_str(payload.get("channel_id") or (payload.get("channel") or {}).get("id")),
            locale=str(payload.get("locale") or payload.get("guild_locale") or "en-US"),
        )

    @property
    def command_name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def custom_id(self) -> str:
        return str(self.data.get("custom_id", ""))

    def option(self, name: str) -> Any:
        for option in self.data.get("options") or []:
            if isinstance(option, dict) and option.get("name") == name:
                return option.get("value")
        return None

    def context(self) -> InteractionContext:
        return InteractionContext(
            interaction_id=self.id,
            application_id=self.application_id,
            token=self.token,
            user_id=self.user_id,
            username=self.username,
            display_name=self.display_name,
            roles=self.roles,
            guild_id=self.guild_id,
            channel_id=self.channel_id,
            locale=self.locale,
        )


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None
