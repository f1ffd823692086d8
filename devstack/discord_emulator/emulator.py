"""``DiscordEmulator``: Discord's REST API and its members' clients, on one loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nacl.signing import SigningKey
from requests import Response

from devstack.emulator_base import Emulator, Forwarded

from .cdn import DEFAULT_URL_TTL_SECONDS, UrlSigner
from .control_api import ControlApi
from .interactions import FileSpec, InteractionClient, InteractionResult, require_visible, sign_request
from .messages import MessageComposer
from .ratelimit import RateLimiter
from .rest import API_PREFIX, RestApi
from .server import DiscordFault, EmulatorApp, RecordedRequest
from .snowflake import SnowflakeGenerator
from .state import JsonObject, MessageWrite, World

# A real snowflake (2023-11-01T00:00:00Z, worker 1), fixed so configurations can name it.
DEFAULT_APPLICATION_ID = "1169063254425731073"
DEFAULT_BOT_TOKEN = "emulator-bot-token"  # noqa: S105 - a fake token the emulator accepts


class DiscordEmulator(Emulator[DiscordFault, RecordedRequest]):
    """Discord for tests and the local stack.

    The bot calls :attr:`api_base_url` (``/api/v10``) with ``Authorization: Bot <bot_token>``;
    tests act as members with :meth:`run_command`, :meth:`click` and :meth:`submit_modal`, which
    POST signed interactions to :attr:`interactions_url` and apply the bot's answer.
    """

    thread_name = "discord-emulator"

    def __init__(
        self,
        *,
        interactions_url: str | None = None,
        application_id: str = DEFAULT_APPLICATION_ID,
        bot_token: str = DEFAULT_BOT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        signing_key: SigningKey | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        global_rate_limit: int = 50,
        attachment_url_ttl: float = DEFAULT_URL_TTL_SECONDS,
    ) -> None:
        super().__init__(host=host, port=port, fault_type=DiscordFault)
        self.interactions_url = interactions_url
        self.application_id = application_id
        self.bot_token = bot_token
        self.signing_key = signing_key or SigningKey.generate()
        self.public_key_hex: str = self.signing_key.verify_key.encode().hex()
        self._signer = UrlSigner(ttl_seconds=attachment_url_ttl)
        self.world = World(
            application_id=application_id, snowflakes=SnowflakeGenerator(), signer=self._signer
        )
        self._composer = MessageComposer(self.world)
        self.rate_limiter = RateLimiter(rate_limits, global_limit=global_rate_limit)
        self._client = InteractionClient(
            self.world, self._composer, self.signing_key, lambda: self.interactions_url
        )
        self._app = EmulatorApp(
            world=self.world,
            rest=RestApi(self.world, self._composer),
            signer=self._signer,
            limiter=self.rate_limiter,
            faults=self._faults,
            log=self._log,
            bot_token=lambda: self.bot_token,
            control=ControlApi(self),
        )

    # -- lifecycle (start, stop, ``with``, port and base_url: Emulator) ------------------------

    def _started(self) -> None:
        self.world.cdn_base_url = self.base_url

    @property
    def api_base_url(self) -> str:
        """What the bot's ``DISCORD_API_BASE_URL`` is set to."""
        return self.base_url + API_PREFIX

    # -- the world -----------------------------------------------------------------------------

    guild_id = Forwarded[str]("world", "guild_id", read_only=True)
    channel_ids = Forwarded[dict[str, str]]("world", "channel_ids", read_only=True)

    @property
    def staff_role_id(self) -> str:
        return self.world.staff_role.id

    @property
    def guild_ids(self) -> list[str]:
        """Every guild, the first (``guild_id``) first."""
        with self.world.lock:
            return list(self.world.guilds)

    def add_guild(self, name: str, *, owner: str | None = None) -> str:
        """Another guild seeded like the first (channels ``general``, ``bug-report``,
        ``feature-request``, ``announcements`` (type 5), ``support``; roles @everyone, ``staff``
        and the bot's managed role; the bot a member). ``owner``: a username whose member is the
        guild owner (all permissions); by default nobody the tests act as. Returns its id."""
        with self.world.lock:
            owner_id = self.world.require_user(owner).id if owner is not None else None
            guild = self.world.add_guild(name, owner_id=owner_id)
            if owner is not None:
                self.world.join_guild(self.world.require_user(owner), guild.id)
            return guild.id

    def channel_ids_of(self, guild_id: str) -> dict[str, str]:
        """A guild's channels (text, announcement, forum) by name."""
        return self.world.channel_ids_of(guild_id)

    def staff_role_id_of(self, guild_id: str) -> str:
        with self.world.lock:
            return self.world.require_guild(guild_id).staff_role_id

    def bot_role_id_of(self, guild_id: str) -> str:
        """The bot's managed role in a guild (its permissions are the bot's besides @everyone)."""
        with self.world.lock:
            return self.world.require_guild(guild_id).bot_role_id

    def join_guild(self, username: str, guild_id: str, *, roles: Iterable[str] = ()) -> JsonObject:
        """``username`` joins a guild (already a member: gets ``roles`` too); ``roles`` are names
        or ids of that guild's roles. Returns the member object (Get Guild Member's shape)."""
        with self.world.lock:
            user = self.world.require_user(username)
            self.world.join_guild(user, guild_id, roles=roles)
            return self.world.guild_member_object(user, guild_id)

    def create_role(self, guild_id: str, name: str, *, permissions: int = 0) -> str:
        """A new role in a guild (above the others); returns its id."""
        with self.world.lock:
            return self.world.add_role(guild_id, name, permissions=permissions).id

    def set_role_permissions(self, role_id: str, permissions: int) -> None:
        """Replace a role's permissions (``@everyone`` has the guild's id)."""
        with self.world.lock:
            role = self.world.roles.get(role_id)
            if role is None:
                raise ValueError(f"unknown role {role_id!r}")
            role.permissions = permissions

    def create_channel(
        self,
        guild_id: str,
        name: str,
        *,
        type: int = 0,
        available_tags: Iterable[Mapping[str, Any]] = (),
        topic: str | None = None,
    ) -> JsonObject:
        """A channel in a guild: text (0), announcement (5) or forum (15) with its
        ``available_tags`` (each ``{"name", "moderated"?, "emoji_id"?, "emoji_name"?}``); returns
        it as Get Channel would."""
        with self.world.lock:
            channel = self.world.create_channel(
                guild_id, name, type, available_tags=[dict(tag) for tag in available_tags], topic=topic
            )
            return self.world.channel_object(channel)

    def channel(self, channel: str, *, guild_id: str | None = None) -> JsonObject:
        """A channel (id, or name in ``guild_id``, default the first guild) as Get Channel renders it."""
        with self.world.lock:
            return self.world.channel_object(self.world.resolve_channel(channel, guild_id=guild_id))

    def set_channel_overwrite(
        self,
        channel: str,
        role_or_user_id: str,
        *,
        allow: int = 0,
        deny: int = 0,
        guild_id: str | None = None,
    ) -> None:
        """Set the permission overwrite of a role (``@everyone`` is the guild id) or member on a
        guild channel (id, or name in ``guild_id``); ``allow == deny == 0`` removes it. Threads
        follow their parent's overwrites."""
        with self.world.lock:
            target = self.world.resolve_channel(channel, guild_id=guild_id)
            self.world.set_overwrite(target, role_or_user_id, allow=allow, deny=deny)

    def permissions_in(self, username: str, channel: str, *, guild_id: str | None = None) -> int:
        """A member's (or ``"flexcord"``: the bot's) computed permissions in a channel."""
        with self.world.lock:
            if username == self.world.bot_user.username:
                user = self.world.bot_user
            else:
                user = self.world.require_user(username)
            target = self.world.resolve_channel(channel, user=user, guild_id=guild_id)
            return self.world.channel_permissions(user, target)

    @property
    def bot_user(self) -> JsonObject:
        return self.world.bot_user.to_object()

    def user(self, username: str) -> JsonObject:
        return self.world.require_user(username).to_object()

    def user_id(self, username: str) -> str:
        return self.world.require_user(username).id

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
    ) -> JsonObject:
        """Add a guild member (``in_guild=False``: a user outside the server, who can still DM the
        bot); ``guild_ids``: the guilds they are in (default the first); ``roles`` are role names
        (``"staff"``, given in each of those guilds) or ids."""
        user = self.world.add_user(
            username,
            roles=roles,
            dms_open=dms_open,
            locale=locale,
            user_id=user_id,
            in_guild=in_guild,
            guild_ids=guild_ids,
        )
        return user.to_object()

    def set_dms_open(self, username: str, dms_open: bool) -> None:
        with self.world.lock:
            self.world.require_user(username).dms_open = dms_open

    def dm_channel_id(self, username: str) -> str:
        return self.world.dm_channel(self.world.require_user(username)).id

    def threads(self, parent: str | None = None) -> list[JsonObject]:
        """Threads (as the API renders them), oldest first; ``parent``: a channel id or name."""
        with self.world.lock:
            parent_id = self.world.resolve_channel(parent).id if parent is not None else None
            return [self.world.channel_object(thread) for thread in self.world.threads(parent_id)]

    def thread_members(self, thread_id: str) -> list[str]:
        """The user ids of a thread's members, in join order (the bot, its creator, first)."""
        with self.world.lock:
            thread = self.world.resolve_channel(thread_id)
            return list(self.world.require_thread_state(thread).members)

    def commands(self, *, guild: bool | str = False) -> list[JsonObject]:
        """The application commands registered globally, or for the first guild (``True``) or
        the guild whose id ``guild`` is."""
        with self.world.lock:
            guild_id = guild if isinstance(guild, str) else self.guild_id
            source = self.world.guild_commands.get(guild_id, []) if guild else self.world.global_commands
            return [dict(command) for command in source]

    def state(self) -> JsonObject:
        with self.world.lock:
            users = {}
            for user in self.world.users.values():
                if user.is_bot:
                    continue
                first = self.world.member(user, self.guild_id)
                users[user.username] = {
                    **user.to_object(),
                    "roles": list(first.role_ids) if first else [],
                    "dms_open": user.dms_open,
                    "guild_ids": [g.id for g in self.world.guilds.values() if user.id in g.members],
                }
            return {
                "application_id": self.application_id,
                "public_key": self.public_key_hex,
                "api_base_url": self.api_base_url,
                "interactions_url": self.interactions_url,
                "guild": self.world.guild_object(),
                "channels": {
                    name: self.world.channel_object(self.world.channels[channel_id])
                    for name, channel_id in self.channel_ids.items()
                },
                "threads": [self.world.channel_object(thread) for thread in self.world.threads()],
                "staff_role_id": self.staff_role_id,
                "guilds": {
                    guild_id: {
                        **self.world.guild_object(guild_id),
                        "channels": self.world.channel_ids_of(guild_id),
                        "staff_role_id": self.world.guilds[guild_id].staff_role_id,
                    }
                    for guild_id in self.world.guilds
                },
                "bot_user": self.bot_user,
                "users": users,
            }

    # -- knobs for tests -----------------------------------------------------------------------

    #: Lifetime of signed CDN URLs handed out from now on (Discord's are about a day).
    attachment_url_ttl = Forwarded[float]("_signer", "ttl_seconds")
    interaction_token_ttl = Forwarded[float]("world", "interaction_token_ttl")
    #: How long the endpoint has to answer an interaction (Discord: 3 s).
    interaction_timeout = Forwarded[float]("_client", "response_deadline")

    def expire_interaction(self, token: str) -> None:
        """Age an interaction past its 15 minutes: its webhook routes answer 10015 from now on."""
        with self.world.lock:
            record = self.world.interactions[token]
            record.created_at -= self.world.interaction_token_ttl + 1

    # inject_fault, clear_faults, set_fault_policy, make_fault, requests, clear_requests,
    # wait_for: Emulator.

    def reset_rate_limits(self) -> None:
        self.rate_limiter.reset()

    @property
    def message_writes(self) -> list[MessageWrite]:
        """Every message the bot wrote or edited, with the ``allowed_mentions`` it sent."""
        with self.world.lock:
            return list(self.world.message_writes)

    @property
    def crossposts(self) -> list[tuple[str, str]]:
        """(channel id, message id) of every message published to following channels, in order."""
        with self.world.lock:
            return list(self.world.crossposts)

    # -- members' side -------------------------------------------------------------------------

    def run_command(
        self,
        username: str,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: str = "general",
        attachments: Mapping[str, FileSpec] | None = None,
        guild_id: str | None = None,
    ) -> InteractionResult:
        """``username`` runs ``/name`` in ``channel`` (a channel name or id, or ``"dm"``); a name
        is looked up in ``guild_id`` (default: the first guild)."""
        return self._client.run_command(
            username, name, options, channel=channel, attachments=attachments, guild_id=guild_id
        )

    def submit_modal(
        self,
        username: str,
        modal: Mapping[str, Any],
        values: Mapping[str, str | Sequence[str]],
        files: Mapping[str, Sequence[FileSpec]] | None = None,
        *,
        channel: str | None = None,
        guild_id: str | None = None,
    ) -> InteractionResult:
        """Submit ``modal`` (the modal's data, or the whole type-9 response) with text ``values``
        and ``files`` per File Upload custom_id. ``channel`` defaults to where the modal opened."""
        return self._client.submit_modal(username, modal, values, files, channel=channel, guild_id=guild_id)

    def click(
        self,
        username: str,
        message: Mapping[str, Any],
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        guild_id: str | None = None,
    ) -> InteractionResult:
        """Press a component of ``message``; ``guild_id`` (optional) asserts where it is."""
        return self._client.click(username, message, custom_id, values=values, guild_id=guild_id)

    def select(
        self,
        username: str,
        message_id: str,
        custom_id: str,
        values: Sequence[str],
        *,
        guild_id: str | None = None,
    ) -> InteractionResult:
        """Choose ``values`` in a select menu of a message: a MESSAGE_COMPONENT interaction with
        ``data.component_type``, ``data.values`` (ids) and, for user/role/mentionable/channel
        selects, ``data.resolved``. Values are option values, or user/role/channel names or ids."""
        return self._client.select(username, message_id, custom_id, values, guild_id=guild_id)

    def ping(self) -> Response:
        return self._client.ping()

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> Response:
        return self._client.send_raw(body, headers)

    def sign(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """Headers that sign ``body`` as Discord would (for hand-made requests)."""
        return sign_request(self.signing_key, body, timestamp)

    def check_endpoint(self) -> list[str]:
        """Discord's checks when saving the endpoint URL; returns the problems found."""
        return self._client.check_endpoint()

    # -- what members see ----------------------------------------------------------------------

    def messages(self, channel_id: str, *, as_user: str | None = None) -> list[JsonObject]:
        """Messages of a channel (id, name, or ``"dm:<username>"``), oldest first. Ephemeral
        messages appear only for ``as_user`` (a username), who alone can see them. A channel
        ``as_user`` cannot see (another member's DM, a private thread they are not in, without
        Manage Threads) raises :class:`ChannelAccessError`; without ``as_user`` every channel is
        shown as the bot sees it."""
        with self.world.lock:
            viewer = self.world.require_user(as_user) if as_user else None
            channel = self.world.resolve_channel(channel_id, user=viewer)
            if viewer is not None:
                require_visible(self.world, viewer, channel)
            records = self.world.channel_messages(channel.id, as_user_id=viewer.id if viewer else None)
            return [self.world.render_message(record) for record in records]

    def original_response(self, token: str) -> JsonObject | None:
        with self.world.lock:
            record = self.world.interactions.get(token)
            message_id = record.original_message_id if record else None
            message = self.world.messages.get(message_id) if message_id else None
            return None if message is None or message.deleted else self.world.render_message(message)

    def followups(self, token: str) -> list[JsonObject]:
        with self.world.lock:
            record = self.world.interactions.get(token)
            if record is None:
                return []
            found = (self.world.messages[m] for m in record.followup_ids)
            return [self.world.render_message(m) for m in found if not m.deleted]

    def interaction_summary(self, token: str) -> JsonObject:
        with self.world.lock:
            record = self.world.interactions.get(token)
            if record is None:
                raise KeyError(f"unknown interaction token {token[:12]}...")
            return {
                "id": record.id,
                "type": record.type,
                "response_type": record.response_type,
                "failed": record.failed,
                "modal": record.modal,
                "original": self.original_response(token),
                "followups": self.followups(token),
            }
