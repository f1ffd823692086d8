"""The emulated world (one guild, its channels, roles and users, DMs) and everything stored in it:
messages, attachments, application commands and interactions.

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
BOT_GUILD_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_THREADS | CREATE_PRIVATE_THREADS | MANAGE_MESSAGES
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
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
# Message types the emulator produces itself (besides 0, 19 and 20).
RECIPIENT_ADD = 7
# ``member_count`` is "an approximate count of users in a thread, stops counting at 50".
THREAD_MEMBER_COUNT_CAP = 50
# Thread member flag: the user has interacted with the thread (its creator has).
THREAD_MEMBER_HAS_INTERACTED = 1 << 0
SEEDED_CHANNELS = ("general", "bug-report", "feature-request", "announcements", "support")
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

    def to_object(self) -> JsonObject:
        return {
            "id": self.id,
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class User:
    id: str
    username: str
    is_bot: bool = False
    role_ids: list[str] = field(default_factory=list)
    dms_open: bool = True
    locale: str = "en-US"
    joined_at: str = ""
    nick: str | None = None
    #: False for someone who shares no server with the bot's (e.g. left it): their DMs with
    #: the bot still work, but Get Guild Member answers 10007.
    in_guild: bool = True

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
        self._nonces: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._seed()

    # -- seeding -------------------------------------------------------------------------------

    def _seed(self) -> None:
        self.guild_id = self.snowflakes.next_id()
        self.guild_name = "Flexcord Emulated Server"
        self.everyone_role = Role(
            id=self.guild_id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0
        )
        self.staff_role = Role(
            id=self.snowflakes.next_id(),
            name="staff",
            permissions=STAFF_PERMISSIONS,
            position=1,
            color=0x3498DB,
            mentionable=True,
        )
        self.roles = {role.id: role for role in (self.everyone_role, self.staff_role)}
        for position, name in enumerate(SEEDED_CHANNELS):
            channel = Channel(
                id=self.snowflakes.next_id(),
                type=GUILD_TEXT,
                name=name,
                guild_id=self.guild_id,
                position=position,
            )
            self.channels[channel.id] = channel
            self.channel_message_ids[channel.id] = []
        self.bot_user = User(
            id=self.application_id, username="flexcord", is_bot=True, joined_at=utc_now_iso()
        )
        self.users[self.bot_user.id] = self.bot_user
        self.add_user("alice")
        self.add_user("bob")
        self.add_user("mod", roles=("staff",))

    def add_user(
        self,
        username: str,
        *,
        roles: Iterable[str] = (),
        dms_open: bool = True,
        locale: str = "en-US",
        user_id: str | None = None,
        in_guild: bool = True,
    ) -> User:
        """``user_id`` pins the id (sample events name fixed users); by default one is generated.
        ``in_guild=False``: a user outside the server (only the bot's DMs reach them)."""
        with self.lock:
            if self.user_by_name(username) is not None:
                raise ValueError(f"user {username!r} already exists")
            if user_id is not None and user_id in self.users:
                raise ValueError(f"user id {user_id} already exists")
            role_ids = [self.resolve_role(role).id for role in roles]
            user = User(
                id=user_id or self.snowflakes.next_id(),
                username=username,
                role_ids=role_ids,
                dms_open=dms_open,
                locale=locale,
                joined_at=utc_now_iso(),
                in_guild=in_guild,
            )
            self.users[user.id] = user
            return user

    # -- lookups -------------------------------------------------------------------------------

    @property
    def channel_ids(self) -> dict[str, str]:
        with self.lock:
            return {c.name: c.id for c in self.channels.values() if c.type == GUILD_TEXT and c.name}

    def user_by_name(self, username: str) -> User | None:
        with self.lock:
            return next((user for user in self.users.values() if user.username == username), None)

    def require_user(self, name_or_id: str) -> User:
        with self.lock:
            user = self.users.get(name_or_id) or self.user_by_name(name_or_id)
            if user is None or user.is_bot:
                raise ValueError(f"unknown user {name_or_id!r}")
            return user

    def resolve_role(self, name_or_id: str) -> Role:
        with self.lock:
            role = self.roles.get(name_or_id) or next(
                (r for r in self.roles.values() if r.name == name_or_id), None
            )
            if role is None:
                raise ValueError(f"unknown role {name_or_id!r}")
            return role

    def member_permissions(self, user: User) -> int:
        with self.lock:
            permissions = self.everyone_role.permissions
            for role_id in user.role_ids:
                permissions |= self.roles[role_id].permissions
            return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions

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
        """Whether ``user`` sees ``channel``: a DM only its recipient; a private thread only its
        members and those with Manage Threads (developers/resources/channel, PRIVATE_THREAD)."""
        with self.lock:
            if channel.type == DM:
                return channel.recipient_id == user.id
            if channel.type == PRIVATE_THREAD and channel.thread is not None:
                return user.id in channel.thread.members or bool(
                    self.member_permissions(user) & MANAGE_THREADS
                )
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
    ) -> Channel:
        """A thread started without a message; its creator is its first member."""
        with self.lock:
            thread = Channel(
                id=self.snowflakes.next_id(),
                type=thread_type,
                name=name,
                guild_id=parent.guild_id,
                parent_id=parent.id,
                owner_id=owner.id,
                thread=ThreadState(
                    auto_archive_duration=auto_archive_duration,
                    invitable=invitable,
                    rate_limit_per_user=rate_limit_per_user,
                ),
            )
            self.channels[thread.id] = thread
            self.channel_message_ids[thread.id] = []
            self.join_thread(thread, owner, flags=THREAD_MEMBER_HAS_INTERACTED)
            return thread

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

    def guild_member_object(self, user: User) -> JsonObject:
        """A guild member object, as Get Guild Member returns it (an interaction's ``member`` adds
        ``permissions``)."""
        return {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": user.joined_at,
            "mute": False,
            "nick": user.nick,
            "pending": False,
            "premium_since": None,
            "roles": list(user.role_ids),
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

    def resolve_channel(self, name_or_id: str, *, user: User | None = None) -> Channel:
        """A channel by id or name; ``"dm"`` is ``user``'s DM with the bot, ``"dm:<username>"`` anyone's."""
        with self.lock:
            if name_or_id in self.channels:
                return self.channels[name_or_id]
            if name_or_id == "dm":
                if user is None:
                    raise ValueError('channel "dm" needs a user')
                return self.dm_channel(user)
            if name_or_id.startswith("dm:"):
                return self.dm_channel(self.require_user(name_or_id[3:]))
            for channel in self.channels.values():
                if channel.name == name_or_id:
                    return channel
            raise ValueError(f"unknown channel {name_or_id!r}")

    # -- rendering -----------------------------------------------------------------------------

    def guild_object(self) -> JsonObject:
        return {
            "id": self.guild_id,
            "name": self.guild_name,
            "roles": [role.to_object() for role in self.roles.values()],
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
            return {
                "id": channel.id,
                "type": channel.type,
                "guild_id": channel.guild_id,
                "name": channel.name,
                "position": channel.position,
                "permission_overwrites": [],
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "rate_limit_per_user": 0,
                "last_message_id": channel.last_message_id,
                "flags": 0,
            }

    def _thread_object(self, channel: Channel, state: ThreadState) -> JsonObject:
        created = iso_timestamp(snowflake_datetime(channel.id))
        metadata: JsonObject = {
            "archived": state.archived,
            "archive_timestamp": created,  # the archive status has not changed since creation
            "auto_archive_duration": state.auto_archive_duration,
            "locked": state.locked,
            "create_timestamp": created,
        }
        if channel.type == PRIVATE_THREAD:
            metadata["invitable"] = state.invitable
        return {
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
            "message_count": len(self.channel_messages(channel.id, as_user_id=None)),
            "member_count": min(len(state.members), THREAD_MEMBER_COUNT_CAP),
            "total_message_sent": state.total_message_sent,
        }

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
            return message

    # -- messages ------------------------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> MessageRecord:
        with self.lock:
            self.messages[record.id] = record
            self.channel_message_ids.setdefault(record.channel_id, []).append(record.id)
            if record.visible_to is None:
                channel = self.channels[record.channel_id]
                channel.last_message_id = record.id
                if channel.thread is not None:
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
