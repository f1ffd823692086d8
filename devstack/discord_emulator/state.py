"""The emulated world (guilds with their channels, roles, members and permission overwrites; DMs)
and everything stored in it: messages, attachments, application commands and interactions.

All state lives in :class:`World` behind a single re-entrant lock: the HTTP server is threaded,
and the bot may call the REST API while a test thread reads messages. Objects handed out are deep
copies rendered in the API's shapes, so callers can never mutate stored state.
"""

from __future__ import annotations

import base64
import copy
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .cdn import StoredFile, UrlSigner
from .snowflake import SnowflakeGenerator, iso_timestamp, snowflake_datetime, utc_now_iso
from .validation import EPHEMERAL

JsonObject = dict[str, Any]

# Permission bits (developers/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
STAFF_PERMISSIONS = (
    KICK_MEMBERS
    | MANAGE_GUILD
    | MANAGE_MESSAGES
    | MENTION_EVERYONE
    | MANAGE_THREADS
    | CREATE_PRIVATE_THREADS
    | MODERATE_MEMBERS
)
# The bot's managed role (what it was invited with): on top of @everyone.
BOT_ROLE_PERMISSIONS = MANAGE_THREADS | CREATE_PRIVATE_THREADS | MANAGE_MESSAGES | MANAGE_CHANNELS
BOT_GUILD_PERMISSIONS = EVERYONE_PERMISSIONS | BOT_ROLE_PERMISSIONS
# What ``app_permissions`` carries in the bot's DM (receiving-and-responding, footnote ***).
BOT_DM_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
)

GUILD_TEXT = 0
DM = 1
GUILD_ANNOUNCEMENT = 5
GUILD_FORUM = 15
# Channels that hold messages and threads (guild text and announcement channels).
MESSAGE_CHANNEL_TYPES = (GUILD_TEXT, GUILD_ANNOUNCEMENT)
GUILD_CHANNEL_TYPES = (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM)
OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1
MAX_FORUM_TAGS = 20
MAX_APPLIED_TAGS = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
# Message flag: a thread was started from this message.
HAS_THREAD = 1 << 5
#: A message of an announcement channel published to the channels following it.
CROSSPOSTED = 1 << 0
# Message types the emulator produces itself (besides 0, 19 and 20).
RECIPIENT_ADD = 7
# ``member_count`` is "an approximate count of users in a thread, stops counting at 50".
THREAD_MEMBER_COUNT_CAP = 50
# Thread member flag: the user has interacted with the thread (its creator has).
THREAD_MEMBER_HAS_INTERACTED = 1 << 0
SEEDED_CHANNELS = ("general", "bug-report", "feature-request", "announcements", "support")
SEEDED_CHANNEL_TYPES = {"announcements": GUILD_ANNOUNCEMENT}
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
NONCE_WINDOW_SECONDS = 5 * 60
INTERACTION_TOKEN_TTL_SECONDS = 15 * 60


@dataclass
class Role:
    id: str
    name: str
    permissions: int
    position: int
    color: int = 0
    mentionable: bool = False
    guild_id: str = ""
    #: The bot's own role (``tags.bot_id``), created when it joined the guild.
    bot_id: str | None = None

    def to_object(self) -> JsonObject:
        role: JsonObject = {
            "id": self.id,
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.bot_id is not None,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            role["tags"] = {"bot_id": self.bot_id}
        return role


@dataclass
class GuildMember:
    """A user's membership of one guild: their roles there (besides @everyone)."""

    user_id: str
    role_ids: list[str] = field(default_factory=list)
    joined_at: str = ""
    nick: str | None = None


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    staff_role_id: str
    bot_role_id: str
    members: dict[str, GuildMember] = field(default_factory=dict)


@dataclass
class Overwrite:
    """A channel permission overwrite (type 0 role, 1 member)."""

    id: str
    type: int
    allow: int = 0
    deny: int = 0

    def to_object(self) -> JsonObject:
        return {"id": self.id, "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class User:
    id: str
    username: str
    is_bot: bool = False
    dms_open: bool = True
    locale: str = "en-US"

    def to_object(self) -> JsonObject:
        user: JsonObject = {
            "id": self.id,
            "username": self.username,
            "avatar": None,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "global_name": None if self.is_bot else self.username.capitalize(),
            "primary_guild": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "banner": None,
            "accent_color": None,
        }
        if self.is_bot:
            user["bot"] = True
        return user


@dataclass
class ThreadMember:
    user_id: str
    join_timestamp: str
    flags: int = 0


@dataclass
class ThreadState:
    """What a thread has beyond a channel: its metadata and its members (who, for a private
    thread, are the only ones who see it besides those with Manage Threads)."""

    auto_archive_duration: int
    invitable: bool = True
    rate_limit_per_user: int = 0
    archived: bool = False
    locked: bool = False
    members: dict[str, ThreadMember] = field(default_factory=dict)
    #: Forum posts: the ids of the forum's tags applied to the post.
    applied_tags: list[str] = field(default_factory=list)
    archive_timestamp: str | None = None
    total_message_sent: int = 0


@dataclass
class Channel:
    id: str
    type: int
    name: str | None = None
    guild_id: str | None = None
    position: int = 0
    recipient_id: str | None = None
    last_message_id: str | None = None
    # Threads: the text channel they were started in, their creator, and their own state.
    parent_id: str | None = None
    owner_id: str | None = None
    thread: ThreadState | None = None
    permission_overwrites: list[Overwrite] = field(default_factory=list)
    #: Forum channels: their tags (``ForumTagResponse`` objects).
    available_tags: list[JsonObject] = field(default_factory=list)
    topic: str | None = None


@dataclass
class MessageRecord:
    id: str
    channel_id: str
    author_id: str
    content: str = ""
    embeds: list[JsonObject] = field(default_factory=list)
    components: list[JsonObject] = field(default_factory=list)
    attachment_ids: list[str] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    nonce: str | int | None = None
    type: int = 0
    edited_timestamp: str | None = None
    mention_user_ids: list[str] = field(default_factory=list)
    mention_role_ids: list[str] = field(default_factory=list)
    mention_everyone: bool = False
    webhook_id: str | None = None
    application_id: str | None = None
    interaction_metadata: JsonObject | None = None
    legacy_interaction: JsonObject | None = None
    # Ephemeral messages are visible to one user only and never listed by the channel routes.
    visible_to: str | None = None
    interaction_token: str | None = None
    deleted: bool = False
    #: The thread started from this message (same id), if any.
    thread_id: str | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


@dataclass
class InteractionRecord:
    """An interaction the emulator sent, and what became of it."""

    id: str
    token: str
    type: int
    user_id: str
    channel_id: str
    payload: JsonObject
    created_at: float = field(default_factory=time.time)
    # Set once the endpoint's HTTP answer has been processed (webhook calls wait for it).
    settled: threading.Event = field(default_factory=threading.Event)
    response_type: int | None = None
    failed: bool = False
    original_message_id: str | None = None
    source_message_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    modal: JsonObject | None = None
    # ``interaction_metadata`` for the messages this interaction's token creates.
    message_metadata: JsonObject | None = None


@dataclass(frozen=True)
class MessageWrite:
    """One message the bot wrote, with the ``allowed_mentions`` it sent (``sent=False``: absent)."""

    kind: str
    channel_id: str
    message_id: str
    content: str
    allowed_mentions_sent: bool
    allowed_mentions: Any
    timestamp: float


@dataclass
class OpenModal:
    """A modal shown to a user, remembered so the submit can carry the triggering message."""

    data: JsonObject
    channel_id: str
    source_message_id: str | None
    interaction_id: str


def new_interaction_token(interaction_id: str) -> str:
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(96)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None


class World:
    def __init__(self, *, application_id: str, snowflakes: SnowflakeGenerator, signer: UrlSigner) -> None:
        self.lock = threading.RLock()
        self.snowflakes = snowflakes
        self.signer = signer
        self.application_id = application_id
        self.cdn_base_url = ""
        self.interaction_token_ttl = float(INTERACTION_TOKEN_TTL_SECONDS)
        self.users: dict[str, User] = {}
        self.roles: dict[str, Role] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.channel_message_ids: dict[str, list[str]] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_descriptions: dict[str, str] = {}
        self.global_commands: list[JsonObject] = []
        self.guild_commands: dict[str, list[JsonObject]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.open_modals: dict[tuple[str, str], OpenModal] = {}
        self.message_writes: list[MessageWrite] = []
        #: (channel id, message id) of every crosspost, in order.
        self.crossposts: list[tuple[str, str]] = []
        self._nonces: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._seed()

    # -- seeding -------------------------------------------------------------------------------

    def _seed(self) -> None:
        self.guilds: dict[str, Guild] = {}
        self.bot_user = User(id=self.application_id, username="flexcord", is_bot=True)
        self.users[self.bot_user.id] = self.bot_user
        first = self.add_guild("Flexcord Emulated Server")
        self.guild_id = first.id
        self.guild_name = first.name
        self.add_user("alice")
        self.add_user("bob")
        self.add_user("mod", roles=("staff",))

    def add_guild(self, name: str, *, owner_id: str | None = None) -> Guild:
        """A guild seeded like the first: @everyone, ``staff``, the bot's managed role, the
        seeded channels, and the bot as a member. ``owner_id`` defaults to a user the emulator
        does not model (so nobody acting in the tests is the owner)."""
        with self.lock:
            guild_id = self.snowflakes.next_id()
            everyone = Role(
                id=guild_id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0, guild_id=guild_id
            )
            staff = Role(
                id=self.snowflakes.next_id(),
                name="staff",
                permissions=STAFF_PERMISSIONS,
                position=1,
                color=0x3498DB,
                mentionable=True,
                guild_id=guild_id,
            )
            bot_role = Role(
                id=self.snowflakes.next_id(),
                name=self.bot_user.username,
                permissions=BOT_ROLE_PERMISSIONS,
                position=2,
                guild_id=guild_id,
                bot_id=self.bot_user.id,
            )
            for role in (everyone, staff, bot_role):
                self.roles[role.id] = role
            guild = Guild(
                id=guild_id,
                name=name,
                owner_id=owner_id or self.snowflakes.next_id(),
                staff_role_id=staff.id,
                bot_role_id=bot_role.id,
            )
            self.guilds[guild_id] = guild
            for position, channel_name in enumerate(SEEDED_CHANNELS):
                self.create_channel(
                    guild_id,
                    channel_name,
                    SEEDED_CHANNEL_TYPES.get(channel_name, GUILD_TEXT),
                    position=position,
                )
            guild.members[self.bot_user.id] = GuildMember(
                user_id=self.bot_user.id, role_ids=[bot_role.id], joined_at=utc_now_iso()
            )
            return guild

    def add_role(self, guild_id: str, name: str, *, permissions: int = 0) -> Role:
        with self.lock:
            self.require_guild(guild_id)
            if self.find_role(name, guild_id) is not None:
                raise ValueError(f"role {name!r} already exists")
            position = 1 + max(r.position for r in self.roles.values() if r.guild_id == guild_id)
            role = Role(
                id=self.snowflakes.next_id(),
                name=name,
                permissions=permissions,
                position=position,
                guild_id=guild_id,
            )
            self.roles[role.id] = role
            return role

    def create_channel(
        self,
        guild_id: str,
        name: str,
        channel_type: int = GUILD_TEXT,
        *,
        position: int | None = None,
        available_tags: Iterable[JsonObject] = (),
        topic: str | None = None,
    ) -> Channel:
        """A guild text (0), announcement (5) or forum (15) channel; forum ``available_tags``
        take ``name`` and optionally ``moderated``, ``emoji_id``, ``emoji_name``."""
        with self.lock:
            self.require_guild(guild_id)
            if channel_type not in GUILD_CHANNEL_TYPES:
                raise ValueError(f"channel type {channel_type} is not emulated (0, 5 or 15)")
            tags = list(available_tags)
            if tags and channel_type != GUILD_FORUM:
                raise ValueError("only forum channels have tags")
            if position is None:
                position = sum(
                    1 for c in self.channels.values() if c.guild_id == guild_id and c.thread is None
                )
            channel = Channel(
                id=self.snowflakes.next_id(),
                type=channel_type,
                name=name,
                guild_id=guild_id,
                position=position,
                topic=topic,
            )
            channel.available_tags = [self.forum_tag(tag) for tag in tags]
            self.channels[channel.id] = channel
            self.channel_message_ids[channel.id] = []
            return channel

    def forum_tag(self, tag: JsonObject, *, keep: dict[str, JsonObject] | None = None) -> JsonObject:
        """A ``ForumTagResponse``; a tag naming the id of one in ``keep`` keeps that id."""
        tag_id = str(tag.get("id")) if tag.get("id") is not None else None
        if tag_id is None or keep is None or tag_id not in keep:
            tag_id = self.snowflakes.next_id()
        emoji_id = tag.get("emoji_id")
        return {
            "id": tag_id,
            "name": str(tag["name"]),
            "moderated": bool(tag.get("moderated", False)),
            "emoji_id": None if emoji_id is None else str(emoji_id),
            "emoji_name": tag.get("emoji_name"),
        }

    def add_user(
        self,
        username: str,
        *,
        roles: Iterable[str] = (),
        dms_open: bool = True,
        locale: str = "en-US",
        user_id: str | None = None,
        in_guild: bool = True,
        guild_ids: Iterable[str] | None = None,
    ) -> User:
        """``user_id`` pins the id (sample events name fixed users); by default one is generated.
        ``guild_ids``: the guilds the user is a member of (default: the first guild;
        ``in_guild=False``: none, a user only the bot's DMs reach). ``roles`` (names or ids) are
        given in each of those guilds that has them; a role found in none is an error."""
        with self.lock:
            if self.user_by_name(username) is not None:
                raise ValueError(f"user {username!r} already exists")
            if user_id is not None and user_id in self.users:
                raise ValueError(f"user id {user_id} already exists")
            guilds = list(guild_ids) if guild_ids is not None else ([self.guild_id] if in_guild else [])
            role_names = list(roles)
            for guild in guilds:
                self.require_guild(guild)
            for role in role_names:
                if not any(self.find_role(role, guild) for guild in guilds):
                    raise ValueError(f"unknown role {role!r}")
            user = User(
                id=user_id or self.snowflakes.next_id(), username=username, dms_open=dms_open, locale=locale
            )
            self.users[user.id] = user
            for guild in guilds:
                found = [self.find_role(role, guild) for role in role_names]
                self.join_guild(user, guild, roles=[role.id for role in found if role is not None])
            return user

    def join_guild(self, user: User, guild_id: str, *, roles: Iterable[str] = ()) -> GuildMember:
        """``user`` joins the guild (or, already a member, gets ``roles`` added)."""
        with self.lock:
            guild = self.require_guild(guild_id)
            role_ids = [self.resolve_role(role, guild_id).id for role in roles]
            member = guild.members.get(user.id)
            if member is None:
                member = GuildMember(user_id=user.id, joined_at=utc_now_iso())
                guild.members[user.id] = member
            member.role_ids.extend(r for r in role_ids if r not in member.role_ids and r != guild_id)
            return member

    # -- lookups -------------------------------------------------------------------------------

    @property
    def channel_ids(self) -> dict[str, str]:
        """The first guild's text and announcement channels by name."""
        return self.channel_ids_of(self.guild_id)

    def channel_ids_of(self, guild_id: str) -> dict[str, str]:
        with self.lock:
            self.require_guild(guild_id)
            return {
                c.name: c.id
                for c in self.channels.values()
                if c.guild_id == guild_id and c.type in GUILD_CHANNEL_TYPES and c.name
            }

    @property
    def staff_role(self) -> Role:
        return self.roles[self.guilds[self.guild_id].staff_role_id]

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.guild_id]

    def require_guild(self, guild_id: str) -> Guild:
        with self.lock:
            guild = self.guilds.get(guild_id)
            if guild is None:
                raise ValueError(f"unknown guild {guild_id!r}")
            return guild

    def member(self, user: User, guild_id: str | None) -> GuildMember | None:
        with self.lock:
            guild = self.guilds.get(guild_id or "")
            return None if guild is None else guild.members.get(user.id)

    def user_by_name(self, username: str) -> User | None:
        with self.lock:
            return next((user for user in self.users.values() if user.username == username), None)

    def require_user(self, name_or_id: str) -> User:
        with self.lock:
            user = self.users.get(name_or_id) or self.user_by_name(name_or_id)
            if user is None or user.is_bot:
                raise ValueError(f"unknown user {name_or_id!r}")
            return user

    def find_role(self, name_or_id: str, guild_id: str | None = None) -> Role | None:
        """A role of ``guild_id`` (default: the first guild) by id or name."""
        with self.lock:
            guild_id = guild_id or self.guild_id
            role = self.roles.get(name_or_id)
            if role is not None:
                return role if role.guild_id == guild_id else None
            return next(
                (r for r in self.roles.values() if r.guild_id == guild_id and r.name == name_or_id), None
            )

    def resolve_role(self, name_or_id: str, guild_id: str | None = None) -> Role:
        role = self.find_role(name_or_id, guild_id)
        if role is None:
            raise ValueError(f"unknown role {name_or_id!r}")
        return role

    def guild_roles(self, guild_id: str) -> list[Role]:
        with self.lock:
            return sorted(
                (r for r in self.roles.values() if r.guild_id == guild_id), key=lambda r: r.position
            )

    # -- permissions (developers/topics/permissions#permission-overwrites) ---------------------

    def member_permissions(self, user: User, guild_id: str | None = None) -> int:
        """The member's base permissions in a guild (default: the first): the guild owner has all,
        else @everyone OR their roles, and Administrator means all. 0 for a non-member."""
        with self.lock:
            guild = self.guilds.get(guild_id or self.guild_id)
            if guild is None:
                return 0
            member = guild.members.get(user.id)
            if member is None:
                return 0
            if guild.owner_id == user.id:
                return ALL_PERMISSIONS
            permissions = self.roles[guild.id].permissions
            for role_id in member.role_ids:
                permissions |= self.roles[role_id].permissions
            return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions

    def channel_permissions(self, user: User, channel: Channel) -> int:
        """The member's permissions in a guild channel: base permissions, then the overwrites of
        @everyone, of their roles (denies then allows, together) and of the member. A thread uses
        its parent's overwrites. 0 for a DM or a non-member."""
        with self.lock:
            if channel.guild_id is None:
                return 0
            base = self.member_permissions(user, channel.guild_id)
            if base & ADMINISTRATOR or base == ALL_PERMISSIONS:
                return ALL_PERMISSIONS
            source = self.channels.get(channel.parent_id or "", channel) if channel.thread else channel
            member = self.member(user, channel.guild_id)
            if member is None:
                return 0
            overwrites = {o.id: o for o in source.permission_overwrites}
            permissions = base
            everyone = overwrites.get(channel.guild_id)
            if everyone is not None:
                permissions = (permissions & ~everyone.deny) | everyone.allow
            allow = deny = 0
            for role_id in member.role_ids:
                role_overwrite = overwrites.get(role_id)
                if role_overwrite is not None:
                    allow |= role_overwrite.allow
                    deny |= role_overwrite.deny
            permissions = (permissions & ~deny) | allow
            own = overwrites.get(user.id)
            if own is not None:
                permissions = (permissions & ~own.deny) | own.allow
            return permissions

    def set_overwrite(self, channel: Channel, target_id: str, *, allow: int, deny: int) -> Overwrite | None:
        """Set (or with ``allow == deny == 0`` remove) the overwrite of a role or member."""
        with self.lock:
            if channel.guild_id is None or channel.thread is not None:
                raise ValueError("overwrites belong to guild channels (threads use their parent's)")
            role = self.roles.get(target_id)
            if role is not None and role.guild_id == channel.guild_id:
                kind = OVERWRITE_ROLE
            elif target_id in self.users:
                kind = OVERWRITE_MEMBER
            else:
                raise ValueError(f"{target_id!r} is neither a role of this guild nor a user")
            channel.permission_overwrites = [o for o in channel.permission_overwrites if o.id != target_id]
            if not allow and not deny:
                return None
            overwrite = Overwrite(id=target_id, type=kind, allow=allow, deny=deny)
            channel.permission_overwrites.append(overwrite)
            return overwrite

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM with ``user``, opened on first use (``POST /users/@me/channels``)."""
        with self.lock:
            for channel in self.channels.values():
                if channel.type == DM and channel.recipient_id == user.id:
                    return channel
            channel = Channel(id=self.snowflakes.next_id(), type=DM, recipient_id=user.id)
            self.channels[channel.id] = channel
            self.channel_message_ids[channel.id] = []
            return channel

    def can_view(self, channel: Channel, user: User) -> bool:
        """Whether ``user`` sees ``channel``: a DM only its recipient; a guild channel a member
        with View Channel there; a private thread only its members and those with Manage Threads
        (developers/resources/channel, PRIVATE_THREAD)."""
        with self.lock:
            if channel.type == DM:
                return channel.recipient_id == user.id
            permissions = self.channel_permissions(user, channel)
            if not permissions & VIEW_CHANNEL:
                return False
            if channel.type == PRIVATE_THREAD and channel.thread is not None:
                return user.id in channel.thread.members or bool(permissions & MANAGE_THREADS)
            return True

    # -- threads -------------------------------------------------------------------------------

    def create_thread(
        self,
        parent: Channel,
        *,
        name: str,
        thread_type: int,
        owner: User,
        auto_archive_duration: int,
        invitable: bool,
        rate_limit_per_user: int,
        thread_id: str | None = None,
        applied_tags: Iterable[str] = (),
    ) -> Channel:
        """A thread; its creator is its first member. ``thread_id``: the id of the message it
        starts from (a thread from a message, or a forum post, shares its starter's id)."""
        with self.lock:
            thread = Channel(
                id=thread_id or self.snowflakes.next_id(),
                type=thread_type,
                name=name,
                guild_id=parent.guild_id,
                parent_id=parent.id,
                owner_id=owner.id,
                thread=ThreadState(
                    auto_archive_duration=auto_archive_duration,
                    invitable=invitable,
                    rate_limit_per_user=rate_limit_per_user,
                    applied_tags=list(applied_tags),
                ),
            )
            self.channels[thread.id] = thread
            self.channel_message_ids[thread.id] = []
            self.join_thread(thread, owner, flags=THREAD_MEMBER_HAS_INTERACTED)
            return thread

    def remove_channel(self, channel_id: str) -> None:
        """Forget a channel and its messages (a forum post whose first message was refused)."""
        with self.lock:
            self.channels.pop(channel_id, None)
            for message_id in self.channel_message_ids.pop(channel_id, []):
                self.messages.pop(message_id, None)

    def join_thread(self, thread: Channel, user: User, *, flags: int = 0) -> bool:
        """``user`` joins the thread (no system message); ``False`` when already a member."""
        with self.lock:
            state = self.require_thread_state(thread)
            if user.id in state.members:
                return False
            state.members[user.id] = ThreadMember(user_id=user.id, join_timestamp=utc_now_iso(), flags=flags)
            return True

    def add_thread_member(self, thread: Channel, user: User, *, added_by: User) -> bool:
        """``added_by`` adds ``user``: Discord posts "<added_by> added <user> to the thread." (a
        RECIPIENT_ADD system message) in the thread. ``False`` when ``user`` was already a member."""
        with self.lock:
            if not self.join_thread(thread, user):
                return False
            self.add_message(
                MessageRecord(
                    id=self.snowflakes.next_id(),
                    channel_id=thread.id,
                    author_id=added_by.id,
                    type=RECIPIENT_ADD,
                    mention_user_ids=[user.id],
                )
            )
            return True

    @staticmethod
    def require_thread_state(channel: Channel) -> ThreadState:
        if channel.thread is None:
            raise ValueError(f"channel {channel.id} is not a thread")
        return channel.thread

    def threads(self, parent_id: str | None = None) -> list[Channel]:
        with self.lock:
            return [
                channel
                for channel in self.channels.values()
                if channel.thread is not None and (parent_id is None or channel.parent_id == parent_id)
            ]

    def guild_member_object(self, user: User, guild_id: str | None = None) -> JsonObject:
        """A guild member object, as Get Guild Member returns it (an interaction's ``member`` adds
        ``permissions``); ``guild_id`` defaults to the first guild, where ``user`` must be a member."""
        member = self.member(user, guild_id or self.guild_id)
        if member is None:
            raise ValueError(f"{user.username} is not a member of guild {guild_id or self.guild_id}")
        return {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": member.joined_at,
            "mute": False,
            "nick": member.nick,
            "pending": False,
            "premium_since": None,
            "roles": list(member.role_ids),
            "unusual_dm_activity_until": None,
            "user": user.to_object(),
        }

    def thread_member_object(self, thread: Channel, user_id: str, *, own: bool = False) -> JsonObject:
        """A thread member object; ``own``: the current user's, which also carries mute settings."""
        with self.lock:
            member = self.require_thread_state(thread).members[user_id]
            body: JsonObject = {
                "id": thread.id,
                "user_id": member.user_id,
                "join_timestamp": member.join_timestamp,
                "flags": member.flags,
            }
            if own:
                body.update({"muted": False, "mute_config": None})
            return body

    def resolve_channel(
        self, name_or_id: str, *, user: User | None = None, guild_id: str | None = None
    ) -> Channel:
        """A channel by id or name; ``"dm"`` is ``user``'s DM with the bot, ``"dm:<username>"`` anyone's.
        Names are looked up in ``guild_id`` (default: the first guild, then any)."""
        with self.lock:
            if name_or_id in self.channels:
                return self.channels[name_or_id]
            if name_or_id == "dm":
                if user is None:
                    raise ValueError('channel "dm" needs a user')
                return self.dm_channel(user)
            if name_or_id.startswith("dm:"):
                return self.dm_channel(self.require_user(name_or_id[3:]))
            named = [channel for channel in self.channels.values() if channel.name == name_or_id]
            for channel in named:
                if channel.guild_id == (guild_id or self.guild_id):
                    return channel
            if named and guild_id is None:
                return named[0]
            raise ValueError(f"unknown channel {name_or_id!r}")

    # -- rendering -----------------------------------------------------------------------------

    def guild_object(self, guild_id: str | None = None) -> JsonObject:
        with self.lock:
            guild = self.require_guild(guild_id or self.guild_id)
            return {
                "id": guild.id,
                "name": guild.name,
                "owner_id": guild.owner_id,
                "roles": [role.to_object() for role in self.guild_roles(guild.id)],
                "preferred_locale": "en-US",
            }

    def channel_object(self, channel: Channel) -> JsonObject:
        with self.lock:
            if channel.type == DM:
                recipient = self.users[channel.recipient_id or ""]
                return {
                    "id": channel.id,
                    "type": DM,
                    "last_message_id": channel.last_message_id,
                    "flags": 0,
                    "recipients": [recipient.to_object()],
                }
            if channel.thread is not None:
                return self._thread_object(channel, channel.thread)
            body: JsonObject = {
                "id": channel.id,
                "type": channel.type,
                "guild_id": channel.guild_id,
                "name": channel.name,
                "position": channel.position,
                "permission_overwrites": [o.to_object() for o in channel.permission_overwrites],
                "parent_id": None,
                "topic": channel.topic,
                "nsfw": False,
                "rate_limit_per_user": 0,
                "last_message_id": channel.last_message_id,
                "flags": 0,
            }
            if channel.type == GUILD_FORUM:
                body.update(
                    {
                        "available_tags": copy.deepcopy(channel.available_tags),
                        "default_auto_archive_duration": None,
                        "default_thread_rate_limit_per_user": 0,
                        "default_reaction_emoji": None,
                        "default_sort_order": None,
                        "default_forum_layout": 0,
                        "default_tag_setting": "match_some",
                    }
                )
            return body

    def _thread_object(self, channel: Channel, state: ThreadState) -> JsonObject:
        created = iso_timestamp(snowflake_datetime(channel.id))
        metadata: JsonObject = {
            "archived": state.archived,
            # When the archive status last changed (creation until then).
            "archive_timestamp": state.archive_timestamp or created,
            "auto_archive_duration": state.auto_archive_duration,
            "locked": state.locked,
            "create_timestamp": created,
        }
        if channel.type == PRIVATE_THREAD:
            metadata["invitable"] = state.invitable
        body: JsonObject = {
            "id": channel.id,
            "type": channel.type,
            "last_message_id": channel.last_message_id,
            "flags": 0,
            "guild_id": channel.guild_id,
            "name": channel.name,
            "parent_id": channel.parent_id,
            "rate_limit_per_user": state.rate_limit_per_user,
            "owner_id": channel.owner_id,
            "thread_metadata": metadata,
            # Not counting the starter message of a forum post (which shares the thread's id).
            "message_count": len(
                [m for m in self.channel_messages(channel.id, as_user_id=None) if m.id != channel.id]
            ),
            "member_count": min(len(state.members), THREAD_MEMBER_COUNT_CAP),
            "total_message_sent": state.total_message_sent,
        }
        parent = self.channels.get(channel.parent_id or "")
        if parent is not None and parent.type == GUILD_FORUM:
            body["applied_tags"] = list(state.applied_tags)
        return body

    def signed_url(self, stored: StoredFile) -> str:
        return f"{self.cdn_base_url}{quote(stored.path)}?{self.signer.signed_query(stored.path)}"

    def attachment_object(self, attachment_id: str) -> JsonObject:
        with self.lock:
            stored = self.files[attachment_id]
            url = self.signed_url(stored)
            attachment: JsonObject = {
                "id": stored.attachment_id,
                "filename": stored.filename,
                "size": len(stored.data),
                "url": url,
                "proxy_url": url,
                "content_type": stored.content_type,
            }
            size = _image_size(stored.data)
            if size is not None:
                attachment["width"], attachment["height"] = size
            if stored.ephemeral:
                attachment["ephemeral"] = True
            description = self.file_descriptions.get(attachment_id)
            if description:
                attachment["description"] = description
            return attachment

    def _render_embed(self, embed: JsonObject, attachments: list[JsonObject]) -> JsonObject:
        rendered = copy.deepcopy(embed)
        rendered.setdefault("type", "rich")
        for media in ("image", "thumbnail"):
            holder = rendered.get(media)
            if not isinstance(holder, dict):
                continue
            url = holder.get("url")
            if isinstance(url, str) and url.startswith("attachment://"):
                filename = url.removeprefix("attachment://")
                match = next((a for a in attachments if a["filename"] == filename), None)
                if match is None:
                    del rendered[media]  # Discord drops references to files it did not receive
                    continue
                holder.update({"url": match["url"], "proxy_url": match["proxy_url"]})
                if "width" in match:
                    holder.update({"width": match["width"], "height": match["height"]})
                holder["content_type"] = match["content_type"]
        return rendered

    def render_message(self, record: MessageRecord) -> JsonObject:
        with self.lock:
            attachments = [self.attachment_object(a) for a in record.attachment_ids if a in self.files]
            message: JsonObject = {
                "type": record.type,
                "content": record.content,
                "mentions": [self.users[u].to_object() for u in record.mention_user_ids],
                "mention_roles": list(record.mention_role_ids),
                "attachments": attachments,
                "embeds": [self._render_embed(e, attachments) for e in record.embeds],
                "timestamp": iso_timestamp(snowflake_datetime(record.id)),
                "edited_timestamp": record.edited_timestamp,
                "flags": record.flags,
                "components": copy.deepcopy(record.components),
                "id": record.id,
                "channel_id": record.channel_id,
                "author": self.users[record.author_id].to_object(),
                "pinned": False,
                "mention_everyone": record.mention_everyone,
                "tts": record.tts,
            }
            if record.nonce is not None:
                message["nonce"] = record.nonce
            if record.webhook_id is not None:
                message["webhook_id"] = record.webhook_id
            if record.application_id is not None:
                message["application_id"] = record.application_id
            if record.interaction_metadata is not None:
                message["interaction_metadata"] = copy.deepcopy(record.interaction_metadata)
            if record.legacy_interaction is not None:
                message["interaction"] = copy.deepcopy(record.legacy_interaction)
            channel = self.channels[record.channel_id]
            if channel.guild_id is not None:
                message["guild_id"] = channel.guild_id
            thread = self.channels.get(record.thread_id or "")
            if thread is not None:
                message["flags"] = record.flags | HAS_THREAD
                message["thread"] = self.channel_object(thread)
            return message

    # -- messages ------------------------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> MessageRecord:
        with self.lock:
            self.messages[record.id] = record
            self.channel_message_ids.setdefault(record.channel_id, []).append(record.id)
            if record.visible_to is None:
                channel = self.channels[record.channel_id]
                channel.last_message_id = record.id
                if channel.thread is not None and record.id != channel.id:
                    channel.thread.total_message_sent += 1
            return record

    def find_message(self, channel_id: str, message_id: str) -> MessageRecord | None:
        with self.lock:
            record = self.messages.get(message_id)
            if record is None or record.deleted or record.channel_id != channel_id:
                return None
            return record

    def channel_messages(self, channel_id: str, *, as_user_id: str | None) -> list[MessageRecord]:
        """Oldest first; ephemeral messages only when they belong to ``as_user_id``."""
        with self.lock:
            records = (self.messages[m] for m in self.channel_message_ids.get(channel_id, []))
            return [
                r for r in records if not r.deleted and (r.visible_to is None or r.visible_to == as_user_id)
            ]

    def remember_nonce(self, channel_id: str, author_id: str, nonce: str | int, message_id: str) -> None:
        with self.lock:
            self._nonces[(channel_id, author_id, str(nonce))] = (message_id, time.time())

    def message_for_nonce(self, channel_id: str, author_id: str, nonce: str | int) -> MessageRecord | None:
        with self.lock:
            entry = self._nonces.get((channel_id, author_id, str(nonce)))
            if entry is None or time.time() - entry[1] > NONCE_WINDOW_SECONDS:
                return None
            return self.find_message(channel_id, entry[0])

    def store_file(
        self,
        *,
        channel_id: str,
        filename: str,
        content_type: str,
        data: bytes,
        ephemeral: bool = False,
        description: str | None = None,
    ) -> StoredFile:
        with self.lock:
            stored = StoredFile(
                attachment_id=self.snowflakes.next_id(),
                channel_id=channel_id,
                filename=filename,
                content_type=content_type,
                data=data,
                ephemeral=ephemeral,
            )
            self.files[stored.attachment_id] = stored
            if description:
                self.file_descriptions[stored.attachment_id] = description
            return stored

    def file_at_path(self, path: str) -> StoredFile | None:
        with self.lock:
            parts = path.strip("/").split("/")
            if len(parts) != 4:
                return None
            stored = self.files.get(parts[2])
            return stored if stored is not None and stored.path == path else None

    def record_write(self, kind: str, record: MessageRecord, payload: JsonObject) -> None:
        with self.lock:
            self.message_writes.append(
                MessageWrite(
                    kind=kind,
                    channel_id=record.channel_id,
                    message_id=record.id,
                    content=record.content,
                    allowed_mentions_sent="allowed_mentions" in payload,
                    allowed_mentions=copy.deepcopy(payload.get("allowed_mentions")),
                    timestamp=time.time(),
                )
            )

    # -- interactions --------------------------------------------------------------------------

    def live_interaction(self, token: str) -> InteractionRecord | None:
        """The interaction behind a webhook token, unless unknown, failed or older than 15 min."""
        with self.lock:
            record = self.interactions.get(token)
        if record is None:
            return None
        # Webhook calls racing the endpoint's own answer wait until that answer is processed.
        record.settled.wait(timeout=5.0)
        with self.lock:
            if record.failed or time.time() - record.created_at > self.interaction_token_ttl:
                return None
            return record
