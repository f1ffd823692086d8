"""Can the bot do its job in a channel an admin picks with ``/setup``? Checked before the setting
is saved, and answered with exactly what is missing.

The bot's permissions in the channel are computed as Discord computes them, from the server's
roles, the roles of the bot's member and the channel's permission overwrites. What each use of a
channel needs:

* bug reports and feature requests in a **text** channel: the bot posts the case (embeds, a
  copied screenshot) and opens a public thread on it for the discussion;
* the same in a **forum** channel: each case is a post (a thread, so Send Messages creates it and
  Send Messages in Threads speaks in it) tagged with its kind and status; the tags are created
  when missing, which needs Manage Channels. A forum that already has every tag works without it;
* **announcements** (text or announcement channel): plain posts with embeds;
* **support**: the member's private chat thread when their DMs are closed.

The reads go through :class:`GuildReader`, which the Discord client satisfies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flexcord.adapters.discord.errors import DiscordApiError
from flexcord.adapters.discord.permissions import (
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    MANAGE_CHANNELS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    channel_permissions,
    missing,
)
from flexcord.cases.model import CaseStatus

GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM = 0, 5, 15
CHANNEL_TYPE_NAMES = {
    GUILD_TEXT: "a text channel",
    2: "a voice channel",
    4: "a category",
    GUILD_ANNOUNCEMENT: "an announcement channel",
    10: "a thread",
    11: "a thread",
    12: "a thread",
    13: "a stage channel",
    GUILD_FORUM: "a forum channel",
    16: "a media channel",
}

#: The most tags a forum channel can have.
MAX_FORUM_TAGS = 20

# Discord's error codes for a channel the bot cannot read.
UNKNOWN_CHANNEL = 10003
MISSING_ACCESS = 50001

TEXT_CASES = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
FORUM_CASES = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | SEND_MESSAGES_IN_THREADS
ANNOUNCEMENTS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
SUPPORT_THREADS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)

#: The tags a forum of cases carries: its kind's, then one per status.
STATUS_TAGS = tuple(status.label for status in CaseStatus)


@dataclass(frozen=True)
class ChannelUse:
    """What a channel setting is for: the channel types it takes, and what the bot needs in each."""

    setting: str
    #: What the channel is, in a sentence: "Bug reports go to a text or forum channel."
    what: str
    required: Mapping[int, int]
    #: The case tags a forum channel must have (created with Manage Channels when missing).
    forum_tags: tuple[str, ...] = ()

    @property
    def channel_types(self) -> list[int]:
        return list(self.required)


CHANNEL_USES: dict[str, ChannelUse] = {
    use.setting: use
    for use in (
        ChannelUse(
            "bug_report_channel_id",
            "Bug reports go to a text or forum channel",
            {GUILD_TEXT: TEXT_CASES, GUILD_FORUM: FORUM_CASES},
            forum_tags=("Bug", *STATUS_TAGS),
        ),
        ChannelUse(
            "feature_request_channel_id",
            "Feature requests go to a text or forum channel",
            {GUILD_TEXT: TEXT_CASES, GUILD_FORUM: FORUM_CASES},
            forum_tags=("Feature", *STATUS_TAGS),
        ),
        ChannelUse(
            "announcements_channel_id",
            "Announcements go to a text or announcement channel",
            {GUILD_TEXT: ANNOUNCEMENTS, GUILD_ANNOUNCEMENT: ANNOUNCEMENTS},
        ),
        ChannelUse(
            "staff_channel_id",
            "Staff notices and reviews go to a text channel only staff can see",
            {GUILD_TEXT: ANNOUNCEMENTS},
        ),
        ChannelUse(
            "support_channel_id",
            "Support chats (private threads) go in a text channel",
            {GUILD_TEXT: SUPPORT_THREADS},
        ),
    )
}


class GuildReader(Protocol):
    """The Discord reads the check needs (``DiscordClient`` has them). A channel the bot cannot
    read raises a ``DiscordApiError`` (10003 unknown, 50001 no access)."""

    def get_channel(self, channel_id: str) -> Mapping[str, Any]: ...

    def list_guild_roles(self, guild_id: str) -> Sequence[Mapping[str, Any]]: ...

    def get_guild_member(self, guild_id: str, user_id: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class ChannelCheck:
    """The outcome: ``problem`` is None when the bot can work there, else what to tell the admin."""

    channel_id: str
    name: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChannelChecker:
    def __init__(self, discord: GuildReader, *, bot_user_id: str) -> None:
        """``bot_user_id``: the bot's user id (for a bot application, its application id)."""
        self._discord = discord
        self._bot_user_id = bot_user_id

    def check(self, guild_id: str, setting: str, channel_id: str, *, shown_name: str = "") -> ChannelCheck:
        """Whether the bot can do ``setting``'s job in the channel. ``shown_name`` is the name the
        admin saw (from the select menu), used when the bot cannot read the channel itself.
        Discord outages and rate limits are raised, so the job is retried."""
        use = CHANNEL_USES[setting]
        channel = self._read(channel_id, shown_name)
        if isinstance(channel, ChannelCheck):
            return channel
        name = f"#{channel.get('name') or shown_name or channel_id}"
        found = ChannelCheck(channel_id, name)
        if str(channel.get("guild_id") or "") != guild_id:
            return _refused(
                found, f"{name} isn't a channel of this server. Pick one of this server's channels."
            )
        channel_type = channel.get("type")
        required = use.required.get(channel_type) if isinstance(channel_type, int) else None
        if required is None:
            kind = CHANNEL_TYPE_NAMES.get(channel_type if isinstance(channel_type, int) else -1)
            return _refused(found, f"{name} is {kind or 'a channel of another kind'}. {use.what}.")
        granted = self._bot_permissions(guild_id, channel)
        lacking = missing(required, granted)
        if channel_type == GUILD_FORUM:
            problem = _forum_problem(name, channel, use.forum_tags, lacking, granted)
            if problem:
                return _refused(found, problem)
        if lacking:
            return _refused(found, f"I can't use {name}: I'm missing {_and(lacking)} there.")
        return found

    def _read(self, channel_id: str, shown_name: str) -> Mapping[str, Any] | ChannelCheck:
        """The channel, or why the bot cannot read it."""
        unread = ChannelCheck(channel_id, f"#{shown_name}" if shown_name else "that channel")
        try:
            return self._discord.get_channel(channel_id)
        except DiscordApiError as refusal:
            if refusal.code == MISSING_ACCESS:
                # Without View Channel the bot cannot even read the channel's overwrites.
                return _refused(unread, f"I can't use {unread.name}: I'm missing **View Channels** there.")
            if refusal.code == UNKNOWN_CHANNEL or refusal.status == 404:
                return _refused(unread, "I can't find that channel: it may have been deleted. Pick another.")
            raise

    def _bot_permissions(self, guild_id: str, channel: Mapping[str, Any]) -> int:
        member = self._discord.get_guild_member(guild_id, self._bot_user_id)
        if member is None:
            return 0
        roles = self._discord.list_guild_roles(guild_id)
        return channel_permissions(
            guild_id=guild_id,
            member_role_ids=[str(role) for role in member.get("roles") or []],
            member_id=self._bot_user_id,
            roles=roles,
            channel=channel,
        )


def _refused(check: ChannelCheck, problem: str) -> ChannelCheck:
    return ChannelCheck(check.channel_id, check.name, problem)


def _forum_problem(
    name: str, channel: Mapping[str, Any], wanted: tuple[str, ...], lacking: list[str], granted: int
) -> str | None:
    """What stops the bot tagging cases in a forum: creating missing tags needs Manage Channels,
    and a forum holds at most 20 tags. None when the tags are there or can be made."""
    tags_to_create = _missing_tags(channel, wanted)
    if not tags_to_create:
        return None
    if missing(MANAGE_CHANNELS, granted):
        return _forum_tags_problem(name, lacking, tags_to_create)
    tag_count = len(channel.get("available_tags") or [])
    if not lacking and tag_count + len(tags_to_create) > MAX_FORUM_TAGS:
        return (
            f"I can't use {name}: it has {tag_count} tags and Discord allows {MAX_FORUM_TAGS}, so "
            f"the case tags it lacks ({', '.join(tags_to_create)}) don't fit. Remove some tags, "
            "then pick the forum again."
        )
    return None


def _missing_tags(channel: Mapping[str, Any], wanted: tuple[str, ...]) -> list[str]:
    have = {
        str(tag.get("name", "")).casefold()
        for tag in channel.get("available_tags") or []
        if isinstance(tag, dict)
    }
    return [tag for tag in wanted if tag.casefold() not in have]


def _forum_tags_problem(name: str, lacking: list[str], tags: list[str]) -> str:
    tag_list = ", ".join(tags)
    if lacking:
        return (
            f"I can't use {name}: I'm missing {_and([*lacking, 'Manage Channels'])} there. "
            f"Manage Channels lets me create the case tags this forum lacks ({tag_list}); "
            "grant it, or create those tags yourself."
        )
    return (
        f"I can't use {name}: I'm missing **Manage Channels** there, which I need to create the case "
        f"tags this forum lacks ({tag_list}). Grant it, or create those tags yourself, then pick the "
        "forum again."
    )


def _and(names: list[str]) -> str:
    """ "**A**", "**A** and **B**", "**A**, **B** and **C**"."""
    bold = [f"**{name}**" for name in names]
    return bold[0] if len(bold) == 1 else f"{', '.join(bold[:-1])} and {bold[-1]}"
