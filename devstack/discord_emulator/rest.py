"""The REST routes the emulator implements under ``/api/v10``, and their handlers.

Every route here exists, with its method, in Discord's OpenAPI document (the tests check it).
Transport concerns (auth, rate limits, fault injection, the request log) live in ``server.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .bodies import RequestBody
from .errors import DiscordApiError, FormErrors
from .messages import MessageComposer, MessageExtras, require_object
from .snowflake import utc_now_iso
from .state import (
    ANNOUNCEMENT_THREAD,
    ATTACH_FILES,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    CROSSPOSTED,
    DM,
    EMBED_LINKS,
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_TEXT,
    MANAGE_CHANNELS,
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MESSAGE_CHANNEL_TYPES,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    InteractionRecord,
    JsonObject,
    MessageRecord,
    World,
)
from .validation import (
    CHANNEL_MESSAGE_FLAGS,
    LOADING,
    WEBHOOK_MESSAGE_FLAGS,
    check_snowflake,
    validate_application_commands,
    validate_channel_edit,
    validate_forum_post,
    validate_thread_create,
    validate_thread_edit,
    validate_thread_from_message,
)

API_PREFIX = "/api/v10"
# Threads started without a message keep the parent's default, which is 24 hours unless set.
DEFAULT_AUTO_ARCHIVE_DURATION = 1440
# Path parameters that make a separate rate-limit bucket ("top-level resources").
MAJOR_PARAMETERS = ("channel_id", "guild_id", "application_id", "interaction_token")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: str
    # Interaction webhooks need no bot token and do not count against the global limit.
    bot_auth: bool = True

    @property
    def key(self) -> str:
        """The name rate-limit overrides use, e.g. ``"POST /channels/{channel_id}/messages"``."""
        return f"{self.method} {self.template}"

    @property
    def segments(self) -> list[str]:
        return self.template.strip("/").split("/")

    def match(self, path: str) -> dict[str, str] | None:
        parts = path.strip("/").split("/")
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template_part, part in zip(self.segments, parts, strict=True):
            if template_part.startswith("{"):
                if not part:
                    return None
                params[template_part[1:-1]] = part
            elif template_part != part:
                return None
        return params

    def major_values(self, params: dict[str, str]) -> tuple[str, ...]:
        if not self.bot_auth:  # webhook buckets: id + token
            return (params.get("application_id", ""), params.get("interaction_token", ""))
        return tuple(params[name] for name in ("channel_id", "guild_id") if name in params)


WEBHOOK = "/webhooks/{application_id}/{interaction_token}"

# Literal segments are listed before parameters that would also match them (``@original``).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/channels/{channel_id}/messages", "list_messages"),
    Route("POST", "/channels/{channel_id}/messages", "create_message"),
    Route("GET", "/channels/{channel_id}/messages/{message_id}", "get_message"),
    Route("PATCH", "/channels/{channel_id}/messages/{message_id}", "edit_message"),
    Route("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", "crosspost_message"),
    Route("GET", "/channels/{channel_id}", "get_channel"),
    Route("PATCH", "/channels/{channel_id}", "edit_channel"),
    Route("POST", "/channels/{channel_id}/threads", "create_thread"),
    Route("POST", "/channels/{channel_id}/messages/{message_id}/threads", "start_thread_from_message"),
    Route("PUT", "/channels/{channel_id}/thread-members/@me", "join_thread"),
    Route("PUT", "/channels/{channel_id}/thread-members/{user_id}", "add_thread_member"),
    Route("POST", "/users/@me/channels", "open_dm"),
    Route("GET", "/guilds/{guild_id}/members/{user_id}", "get_guild_member"),
    Route("GET", "/guilds/{guild_id}/roles", "list_guild_roles"),
    Route("GET", "/guilds/{guild_id}/channels", "list_guild_channels"),
    Route("GET", f"{WEBHOOK}/messages/@original", "get_original", bot_auth=False),
    Route("PATCH", f"{WEBHOOK}/messages/@original", "edit_original", bot_auth=False),
    Route("DELETE", f"{WEBHOOK}/messages/@original", "delete_original", bot_auth=False),
    Route("GET", f"{WEBHOOK}/messages/{{message_id}}", "get_followup", bot_auth=False),
    Route("PATCH", f"{WEBHOOK}/messages/{{message_id}}", "edit_followup", bot_auth=False),
    Route("DELETE", f"{WEBHOOK}/messages/{{message_id}}", "delete_followup", bot_auth=False),
    Route("POST", WEBHOOK, "create_followup", bot_auth=False),
    Route("GET", "/applications/{application_id}/commands", "list_global_commands"),
    Route("PUT", "/applications/{application_id}/commands", "overwrite_global_commands"),
    Route("GET", "/applications/{application_id}/guilds/{guild_id}/commands", "list_guild_commands"),
    Route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", "overwrite_guild_commands"),
)


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``path`` (relative to ``/api/v10``); 404 or 405 as Discord answers."""
    path_matched = False
    for route in ROUTES:
        params = route.match(path)
        if params is None:
            continue
        if route.method == method:
            return route, params
        path_matched = True
    raise DiscordApiError.method_not_allowed() if path_matched else DiscordApiError.not_found()


@dataclass
class RestRequest:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: RequestBody
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RestResponse:
    status: int
    body: Any = None


def _clean(value: Any) -> Any:
    """Drop ``None`` members recursively (how stored commands echo optional fields)."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _form_typed(payload: JsonObject, content_type: str) -> JsonObject:
    """Form bodies carry text: read the thread parameters as JSON would type them."""
    if content_type == "application/json":
        return payload
    typed = dict(payload)
    for key in ("type", "auto_archive_duration", "rate_limit_per_user", "position"):
        value = typed.get(key)
        if isinstance(value, str) and value.isdigit():
            typed[key] = int(value)
    for key in ("invitable", "archived", "locked"):
        value = typed.get(key)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            typed[key] = value.lower() == "true"
    return typed


class RestApi:
    def __init__(self, world: World, composer: MessageComposer) -> None:
        self.world = world
        self.composer = composer
        self._handlers: dict[str, Callable[[RestRequest], RestResponse]] = {
            route.handler: getattr(self, route.handler) for route in ROUTES
        }

    def handle(self, route: Route, request: RestRequest) -> RestResponse:
        return self._handlers[route.handler](request)

    # -- channels and messages -----------------------------------------------------------------

    def _channel(self, channel_id: str) -> str:
        with self.world.lock:
            if channel_id not in self.world.channels:
                raise DiscordApiError.unknown_channel()
            return channel_id

    def _render(self, record: MessageRecord) -> JsonObject:
        return self.world.render_message(record)

    def _require_bot(self, channel: Channel, required: int = 0) -> int:
        """The bot's permissions in a guild channel, checked as Discord does: without View Channel
        (or, in a private thread, neither membership nor Manage Threads) 403/50001 Missing Access;
        without a ``required`` bit 403/50013 Missing Permissions. DMs have no permissions."""
        with self.world.lock:
            if channel.type == DM:
                return 0
            bot = self.world.bot_user
            permissions = self.world.channel_permissions(bot, channel)
            if not self.world.can_view(channel, bot):
                raise DiscordApiError.missing_access()
            if permissions & required != required:
                raise DiscordApiError.missing_permissions()
            return permissions

    def _check_embeds(
        self, permissions: int, payload: JsonObject, files: list[Any], channel: Channel
    ) -> JsonObject:
        """Without Embed Links a bot's embeds are not shown: a message that has nothing else is
        refused (50013), otherwise the embeds are dropped."""
        if channel.type == DM or permissions & EMBED_LINKS or not payload.get("embeds"):
            return payload
        others = (
            bool(str(payload.get("content") or "").strip())
            or bool(payload.get("components"))
            or bool(files)
            or bool(payload.get("sticker_ids"))
        )
        if not others:
            raise DiscordApiError.missing_permissions()
        return {key: value for key, value in payload.items() if key != "embeds"}

    def _message_permissions(self, channel: Channel, payload: JsonObject, files: list[Any]) -> int:
        """What posting needs: Send Messages (Send Messages in Threads in a thread), and Attach
        Files for uploads; an archived thread is unarchived unless locked (Manage Threads)."""
        required = SEND_MESSAGES_IN_THREADS if channel.thread is not None else SEND_MESSAGES
        if files:
            required |= ATTACH_FILES
        permissions = self._require_bot(channel, required)
        state = channel.thread
        if state is not None and state.archived:
            if state.locked and not permissions & MANAGE_THREADS:
                raise DiscordApiError.thread_archived()
            with self.world.lock:
                state.archived = False
                state.archive_timestamp = utc_now_iso()
        return permissions

    def list_messages(self, request: RestRequest) -> RestResponse:
        channel_id = self._channel(request.params["channel_id"])
        raw_limit = request.query.get("limit", "50")
        errors = FormErrors()
        try:
            limit = int(raw_limit)
        except ValueError:
            errors.add(("limit",), "NUMBER_TYPE_COERCE", f'Value "{raw_limit}" is not int.')
            limit = 50
        if not 1 <= limit <= 100:
            errors.add(
                ("limit",),
                "NUMBER_TYPE_MAX" if limit > 100 else "NUMBER_TYPE_MIN",
                "int value should be between 1 and 100.",
            )
        errors.raise_if_any()
        with self.world.lock:
            self._require_bot(self.world.channels[channel_id], READ_MESSAGE_HISTORY)
        records = self.world.channel_messages(channel_id, as_user_id=None)
        before, after = request.query.get("before"), request.query.get("after")
        if before:
            records = [r for r in records if int(r.id) < int(before)]
        if after:
            records = [r for r in records if int(r.id) > int(after)]
            selected = records[:limit]
        else:
            selected = records[-limit:]
        # Newest first, as the API returns them.
        return RestResponse(200, [self._render(r) for r in reversed(selected)])

    def create_message(self, request: RestRequest) -> RestResponse:
        channel_id = self._channel(request.params["channel_id"])
        with self.world.lock:
            channel = self.world.channels[channel_id]
            if channel.type == DM:
                recipient = self.world.users[channel.recipient_id or ""]
                if not recipient.dms_open:
                    raise DiscordApiError.cannot_send_to_user()
            payload = require_object(request.body.payload)
            if channel.type != DM:
                self._require_bot(channel)
                if channel.type == GUILD_FORUM:
                    raise DiscordApiError.cannot_send_in_non_text_channel()
                permissions = self._message_permissions(channel, payload, request.body.files)
                payload = self._check_embeds(permissions, payload, request.body.files, channel)
        record, _created = self.composer.create(
            channel_id=channel_id,
            author_id=self.world.bot_user.id,
            payload=payload,
            files=request.body.files,
            allowed_flags=CHANNEL_MESSAGE_FLAGS,
            extras=MessageExtras(),
            write_kind="channel_create",
        )
        return RestResponse(200, self._render(record))

    def _message(self, request: RestRequest) -> MessageRecord:
        channel_id = self._channel(request.params["channel_id"])
        with self.world.lock:
            self._require_bot(self.world.channels[channel_id])
        record = self.world.find_message(channel_id, request.params["message_id"])
        if record is None or record.visible_to is not None:
            raise DiscordApiError.unknown_message()
        return record

    def get_message(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, self._render(self._message(request)))

    def edit_message(self, request: RestRequest) -> RestResponse:
        record = self._message(request)
        if record.author_id != self.world.bot_user.id:
            raise DiscordApiError.cannot_edit_other_users_message()
        payload = require_object(request.body.payload)
        with self.world.lock:
            channel = self.world.channels[record.channel_id]
            if channel.type != DM:
                permissions = self._require_bot(channel)
                payload = self._check_embeds(permissions, payload, request.body.files, channel)
        self.composer.edit(
            record,
            payload=payload,
            files=request.body.files,
            allowed_flags=CHANNEL_MESSAGE_FLAGS,
            write_kind="channel_edit",
        )
        return RestResponse(200, self._render(record))

    def crosspost_message(self, request: RestRequest) -> RestResponse:
        """Publish a message of an announcement channel to the channels following it. The bot
        crossposts its own messages with Send Messages, others' with Manage Messages; a message
        outside an announcement channel, or one already published, is refused (400)."""
        record = self._message(request)
        with self.world.lock:
            channel = self.world.channels[record.channel_id]
            if channel.type != GUILD_ANNOUNCEMENT:
                raise DiscordApiError.invalid_channel_type()
            own = record.author_id == self.world.bot_user.id
            self._require_bot(channel, SEND_MESSAGES if own else MANAGE_MESSAGES)
            if record.flags & CROSSPOSTED:
                raise DiscordApiError.already_crossposted()
            record.flags |= CROSSPOSTED
            self.world.crossposts.append((record.channel_id, record.id))
        return RestResponse(200, self._render(record))

    def open_dm(self, request: RestRequest) -> RestResponse:
        payload = require_object(request.body.payload)
        recipient_id = payload.get("recipient_id")
        if recipient_id is None:
            raise DiscordApiError.invalid_form_body(
                {
                    "recipient_id": {
                        "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]
                    }
                }
            )
        with self.world.lock:
            user = self.world.users.get(str(recipient_id))
            if user is None or user.is_bot:
                raise DiscordApiError.invalid_recipient()
            return RestResponse(200, self.world.channel_object(self.world.dm_channel(user)))

    def _guild(self, guild_id: str) -> str:
        """A guild the bot is in; any other id answers 403/50001 Missing Access."""
        with self.world.lock:
            if guild_id not in self.world.guilds:
                raise DiscordApiError.missing_access()
            return guild_id

    def get_guild_member(self, request: RestRequest) -> RestResponse:
        """Get Guild Member: the member object in that guild, or 10007 for someone not in it."""
        guild_id = self._guild(request.params["guild_id"])
        with self.world.lock:
            user = self.world.users.get(request.params["user_id"])
            if user is None or self.world.member(user, guild_id) is None:
                raise DiscordApiError.unknown_member()
            return RestResponse(200, self.world.guild_member_object(user, guild_id))

    def list_guild_roles(self, request: RestRequest) -> RestResponse:
        guild_id = self._guild(request.params["guild_id"])
        with self.world.lock:
            return RestResponse(200, [role.to_object() for role in self.world.guild_roles(guild_id)])

    def list_guild_channels(self, request: RestRequest) -> RestResponse:
        """Get Guild Channels: every channel of the guild, threads excluded."""
        guild_id = self._guild(request.params["guild_id"])
        with self.world.lock:
            channels = sorted(
                (c for c in self.world.channels.values() if c.guild_id == guild_id and c.thread is None),
                key=lambda c: (c.position, int(c.id)),
            )
            return RestResponse(200, [self.world.channel_object(c) for c in channels])

    def get_channel(self, request: RestRequest) -> RestResponse:
        channel_id = self._channel(request.params["channel_id"])
        with self.world.lock:
            channel = self.world.channels[channel_id]
            self._require_bot(channel)
            return RestResponse(200, self.world.channel_object(channel))

    def edit_channel(self, request: RestRequest) -> RestResponse:
        """Modify Channel: a guild channel (Manage Channels; a forum's ``available_tags``) or a
        thread (``name``, ``archived``, ``locked``, ``applied_tags``...: the thread's owner may
        edit its own thread, anything else needs Manage Threads)."""
        channel_id = self._channel(request.params["channel_id"])
        payload = _form_typed(require_object(request.body.payload), request.body.content_type)
        with self.world.lock:
            channel = self.world.channels[channel_id]
            if channel.type == DM:
                raise DiscordApiError.invalid_channel_type()
            if channel.thread is not None:
                self._edit_thread(channel, payload)
            else:
                self._require_bot(channel, MANAGE_CHANNELS)
                FormErrors.check(validate_channel_edit, payload, forum=channel.type == GUILD_FORUM)
                if "name" in payload:
                    channel.name = str(payload["name"])
                if "topic" in payload:
                    channel.topic = payload["topic"]
                if channel.type == GUILD_FORUM and payload.get("available_tags") is not None:
                    keep = {tag["id"]: tag for tag in channel.available_tags}
                    channel.available_tags = [
                        self.world.forum_tag(tag, keep=keep) for tag in payload["available_tags"]
                    ]
            return RestResponse(200, self.world.channel_object(channel))

    def _edit_thread(self, thread: Channel, payload: JsonObject) -> None:
        self.world.require_thread_state(thread)
        parent = self.world.channels[thread.parent_id or ""]
        permissions = self._require_bot(thread)
        errors = FormErrors()
        validate_thread_edit(errors, payload)
        tags = payload.get("applied_tags")
        tag_ids: list[str] | None = None
        if tags is not None:
            available = {tag["id"]: tag for tag in parent.available_tags}
            tag_ids = [str(tag) for tag in tags]
            for index, tag_id in enumerate(tag_ids):
                if tag_id not in available:
                    errors.add(("applied_tags", index), "BASE_TYPE_CHOICES", f"Unknown tag {tag_id}.")
        errors.raise_if_any()
        self._check_thread_edit(thread, parent, payload, tag_ids, permissions)
        self._apply_thread_edit(thread, payload, tag_ids)

    def _check_thread_edit(
        self,
        thread: Channel,
        parent: Channel,
        payload: JsonObject,
        tag_ids: list[str] | None,
        permissions: int,
    ) -> None:
        state = self.world.require_thread_state(thread)
        manages = bool(permissions & MANAGE_THREADS)
        owner = thread.owner_id == self.world.bot_user.id
        needs_manage = (
            not owner
            or payload.get("locked") is not None
            or (payload.get("archived") is False and state.locked)
            or ("invitable" in payload)
        )
        if tag_ids is not None:
            moderated = {tag["id"] for tag in parent.available_tags if tag["moderated"]}
            if set(tag_ids) & moderated != set(state.applied_tags) & moderated:
                needs_manage = True
        if needs_manage and not manages:
            raise DiscordApiError.missing_permissions()
        if (
            state.archived
            and payload.get("archived") is not False
            and not (set(payload) <= {"archived", "locked"})
        ):
            raise DiscordApiError.thread_archived()

    def _apply_thread_edit(self, thread: Channel, payload: JsonObject, tag_ids: list[str] | None) -> None:
        state = self.world.require_thread_state(thread)
        if "name" in payload:
            thread.name = str(payload["name"])
        if payload.get("locked") is not None:
            state.locked = bool(payload["locked"])
        if payload.get("archived") is not None and bool(payload["archived"]) != state.archived:
            state.archived = bool(payload["archived"])
            state.archive_timestamp = utc_now_iso()
        if payload.get("auto_archive_duration") is not None:
            state.auto_archive_duration = int(payload["auto_archive_duration"])
        if payload.get("rate_limit_per_user") is not None:
            state.rate_limit_per_user = int(payload["rate_limit_per_user"])
        if payload.get("invitable") is not None:
            state.invitable = bool(payload["invitable"])
        if tag_ids is not None:
            state.applied_tags = list(dict.fromkeys(tag_ids))

    # -- threads -------------------------------------------------------------------------------

    def create_thread(self, request: RestRequest) -> RestResponse:
        """Start Thread without Message: 201 with the thread, and the bot's own thread member.
        In a forum: Start Thread in Forum Channel (a post with its first message)."""
        channel_id = self._channel(request.params["channel_id"])
        payload = _form_typed(require_object(request.body.payload), request.body.content_type)
        with self.world.lock:
            if self.world.channels[channel_id].type == GUILD_FORUM:
                return self._create_forum_post(self.world.channels[channel_id], payload, request)
        FormErrors.check(validate_thread_create, payload)
        thread_type = payload.get("type")
        thread_type = PRIVATE_THREAD if thread_type is None else int(thread_type)
        with self.world.lock:
            parent = self.world.channels[channel_id]
            # Threads live in guild text channels, announcement threads in announcement channels;
            # not in DMs, nor in other threads.
            if parent.type == GUILD_ANNOUNCEMENT:
                if thread_type != ANNOUNCEMENT_THREAD:
                    raise DiscordApiError.invalid_channel_type()
            elif parent.type != GUILD_TEXT or thread_type == ANNOUNCEMENT_THREAD:
                raise DiscordApiError.invalid_channel_type()
            self._require_bot(
                parent, CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD else CREATE_PUBLIC_THREADS
            )
            invitable = payload.get("invitable")
            auto_archive = payload.get("auto_archive_duration")
            thread = self.world.create_thread(
                parent,
                name=str(payload["name"]),
                thread_type=thread_type,
                owner=self.world.bot_user,
                auto_archive_duration=DEFAULT_AUTO_ARCHIVE_DURATION if auto_archive is None else auto_archive,
                invitable=True if invitable is None else bool(invitable),
                rate_limit_per_user=payload.get("rate_limit_per_user") or 0,
            )
            body = self.world.channel_object(thread)
            body["member"] = self.world.thread_member_object(thread, self.world.bot_user.id, own=True)
            return RestResponse(201, body)

    def _create_forum_post(self, forum: Channel, payload: JsonObject, request: RestRequest) -> RestResponse:
        """A forum post: a public thread whose starter message shares its id."""
        errors = FormErrors()
        validate_forum_post(errors, payload)
        tags = payload.get("applied_tags")
        tag_ids = [str(tag) for tag in tags] if isinstance(tags, list) else []
        available = {tag["id"]: tag for tag in forum.available_tags}
        for index, tag_id in enumerate(tag_ids):
            if tag_id not in available:
                errors.add(("applied_tags", index), "BASE_TYPE_CHOICES", f"Unknown tag {tag_id}.")
        errors.raise_if_any()
        files = request.body.files
        permissions = self._require_bot(forum, SEND_MESSAGES | (ATTACH_FILES if files else 0))
        if any(available[tag_id]["moderated"] for tag_id in tag_ids) and not permissions & MANAGE_THREADS:
            raise DiscordApiError.missing_permissions()
        message = self._check_embeds(permissions, dict(payload["message"]), files, forum)
        auto_archive = payload.get("auto_archive_duration")
        thread_id = self.world.snowflakes.next_id()
        thread = self.world.create_thread(
            forum,
            name=str(payload["name"]),
            thread_type=PUBLIC_THREAD,
            owner=self.world.bot_user,
            auto_archive_duration=DEFAULT_AUTO_ARCHIVE_DURATION if auto_archive is None else auto_archive,
            invitable=True,
            rate_limit_per_user=payload.get("rate_limit_per_user") or 0,
            thread_id=thread_id,
            applied_tags=dict.fromkeys(tag_ids),
        )
        try:
            record, _created = self.composer.create(
                channel_id=thread.id,
                author_id=self.world.bot_user.id,
                payload=message,
                files=files,
                allowed_flags=CHANNEL_MESSAGE_FLAGS,
                extras=MessageExtras(),
                write_kind="forum_post",
                message_id=thread_id,
            )
        except DiscordApiError as error:
            self.world.remove_channel(thread.id)
            if error.errors is not None:  # the message's field errors sit under "message"
                raise DiscordApiError.invalid_form_body({"message": error.errors}) from error
            raise
        with self.world.lock:
            forum.last_message_id = thread.id  # a forum's "last message" is its newest post
        body = self.world.channel_object(thread)
        body["member"] = self.world.thread_member_object(thread, self.world.bot_user.id, own=True)
        body["message"] = self._render(record)
        return RestResponse(201, body)

    def start_thread_from_message(self, request: RestRequest) -> RestResponse:
        """Start Thread from Message: a public thread (an announcement thread in an announcement
        channel) whose id is the message's; 400/160004 when the message already has one."""
        channel_id = self._channel(request.params["channel_id"])
        payload = _form_typed(require_object(request.body.payload), request.body.content_type)
        FormErrors.check(validate_thread_from_message, payload)
        with self.world.lock:
            parent = self.world.channels[channel_id]
            if parent.type not in MESSAGE_CHANNEL_TYPES:
                raise DiscordApiError.invalid_channel_type()
            self._require_bot(parent, CREATE_PUBLIC_THREADS | READ_MESSAGE_HISTORY)
            record = self.world.find_message(channel_id, request.params["message_id"])
            if record is None or record.visible_to is not None:
                raise DiscordApiError.unknown_message()
            if record.thread_id is not None:
                raise DiscordApiError.thread_already_created()
            auto_archive = payload.get("auto_archive_duration")
            thread = self.world.create_thread(
                parent,
                name=str(payload["name"]),
                thread_type=ANNOUNCEMENT_THREAD if parent.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD,
                owner=self.world.bot_user,
                auto_archive_duration=DEFAULT_AUTO_ARCHIVE_DURATION if auto_archive is None else auto_archive,
                invitable=True,
                rate_limit_per_user=payload.get("rate_limit_per_user") or 0,
                thread_id=record.id,
            )
            record.thread_id = thread.id
            body = self.world.channel_object(thread)
            body["member"] = self.world.thread_member_object(thread, self.world.bot_user.id, own=True)
            return RestResponse(201, body)

    def _thread(self, channel_id: str) -> Channel:
        with self.world.lock:
            channel = self.world.channels[self._channel(channel_id)]
            if channel.thread is None:
                raise DiscordApiError.invalid_channel_type()
            return channel

    def join_thread(self, request: RestRequest) -> RestResponse:
        """Join Thread (``@me``): the bot, which may manage threads, joins; 204 even if a member."""
        thread = self._thread(request.params["channel_id"])
        with self.world.lock:
            self._require_bot(thread)
            self.world.join_thread(thread, self.world.bot_user)
        return RestResponse(204)

    def add_thread_member(self, request: RestRequest) -> RestResponse:
        """Add Thread Member: 204 when added or already a member. The bot must be in the thread
        (it is, as the creator of every thread it starts); the user must be a guild member."""
        user_id = request.params["user_id"]
        FormErrors.check(check_snowflake, ("user_id",), user_id)
        thread = self._thread(request.params["channel_id"])
        with self.world.lock:
            state = self.world.require_thread_state(thread)
            if self.world.bot_user.id not in state.members:
                raise DiscordApiError.missing_access()
            user = self.world.users.get(user_id)
            if user is None:
                raise DiscordApiError.unknown_member()
            self.world.add_thread_member(thread, user, added_by=self.world.bot_user)
        return RestResponse(204)

    # -- interaction webhooks ------------------------------------------------------------------

    def _interaction(self, request: RestRequest) -> InteractionRecord:
        if request.params["application_id"] != self.world.application_id:
            raise DiscordApiError.unknown_webhook()
        record = self.world.live_interaction(request.params["interaction_token"])
        if record is None:
            raise DiscordApiError.unknown_webhook()
        return record

    def _original(self, interaction: InteractionRecord) -> MessageRecord:
        with self.world.lock:
            message_id = interaction.original_message_id
            record = self.world.messages.get(message_id) if message_id else None
            if record is None or record.deleted:
                raise DiscordApiError.unknown_message()
            return record

    def _followup(self, interaction: InteractionRecord, message_id: str) -> MessageRecord:
        with self.world.lock:
            record = self.world.messages.get(message_id)
            owned = message_id in interaction.followup_ids or message_id == interaction.original_message_id
            if record is None or record.deleted or not owned:
                raise DiscordApiError.unknown_message()
            return record

    def _edit_webhook_message(
        self, interaction: InteractionRecord, record: MessageRecord, request: RestRequest, kind: str
    ) -> RestResponse:
        self.composer.edit(
            record,
            payload=require_object(request.body.payload),
            files=request.body.files,
            allowed_flags=WEBHOOK_MESSAGE_FLAGS,
            write_kind=kind,
            completes_deferral=bool(record.flags & LOADING),
        )
        return RestResponse(200, self._render(record))

    def get_original(self, request: RestRequest) -> RestResponse:
        return RestResponse(200, self._render(self._original(self._interaction(request))))

    def edit_original(self, request: RestRequest) -> RestResponse:
        interaction = self._interaction(request)
        return self._edit_webhook_message(
            interaction, self._original(interaction), request, "webhook_edit_original"
        )

    def delete_original(self, request: RestRequest) -> RestResponse:
        record = self._original(self._interaction(request))
        with self.world.lock:
            record.deleted = True
        return RestResponse(204)

    def get_followup(self, request: RestRequest) -> RestResponse:
        interaction = self._interaction(request)
        return RestResponse(200, self._render(self._followup(interaction, request.params["message_id"])))

    def edit_followup(self, request: RestRequest) -> RestResponse:
        interaction = self._interaction(request)
        record = self._followup(interaction, request.params["message_id"])
        return self._edit_webhook_message(interaction, record, request, "webhook_edit_followup")

    def delete_followup(self, request: RestRequest) -> RestResponse:
        interaction = self._interaction(request)
        record = self._followup(interaction, request.params["message_id"])
        with self.world.lock:
            record.deleted = True
        return RestResponse(204)

    def create_followup(self, request: RestRequest) -> RestResponse:
        interaction = self._interaction(request)
        original_id = interaction.original_message_id
        original = self.world.messages.get(original_id) if original_id else None
        if (
            interaction.response_type == 5
            and original is not None
            and not original.deleted
            and original.flags & LOADING
        ):
            # Deprecated but real: the first follow-up after a defer edits the loading message,
            # keeping the ephemeral state chosen at defer time.
            return self._edit_webhook_message(interaction, original, request, "webhook_followup")
        with self.world.lock:
            user = self.world.users[interaction.user_id]
        extras = MessageExtras(
            message_type=0,
            visible_to=user.id,
            webhook_id=self.world.application_id,
            application_id=self.world.application_id,
            interaction_metadata=copy.deepcopy(interaction.message_metadata),
            interaction_token=interaction.token,
        )
        record, _created = self.composer.create(
            channel_id=interaction.channel_id,
            author_id=self.world.bot_user.id,
            payload=require_object(request.body.payload),
            files=request.body.files,
            allowed_flags=WEBHOOK_MESSAGE_FLAGS,
            extras=extras,
            write_kind="webhook_followup",
        )
        with self.world.lock:
            interaction.followup_ids.append(record.id)
        return RestResponse(200, self._render(record))

    # -- application commands ------------------------------------------------------------------

    def _check_application(self, request: RestRequest) -> None:
        if request.params["application_id"] != self.world.application_id:
            raise DiscordApiError.missing_access()
        guild_id = request.params.get("guild_id")
        if guild_id is not None and guild_id not in self.world.guilds:
            raise DiscordApiError.missing_access()

    def _command_list(self, guild_id: str | None) -> list[JsonObject]:
        with self.world.lock:
            if guild_id is None:
                return self.world.global_commands
            return self.world.guild_commands.setdefault(guild_id, [])

    def _list_commands(self, request: RestRequest) -> RestResponse:
        self._check_application(request)
        return RestResponse(200, copy.deepcopy(self._command_list(request.params.get("guild_id"))))

    def _overwrite_commands(self, request: RestRequest) -> RestResponse:
        self._check_application(request)
        commands = FormErrors.check(validate_application_commands, request.body.payload)
        guild_id = request.params.get("guild_id")
        with self.world.lock:
            previous = {(c["type"], c["name"]): c for c in self._command_list(guild_id)}
            stored = [self._normalize_command(command, guild_id, previous) for command in commands]
            if guild_id is None:
                self.world.global_commands = stored
            else:
                self.world.guild_commands[guild_id] = stored
            return RestResponse(200, copy.deepcopy(stored))

    def _normalize_command(
        self, command: JsonObject, guild_id: str | None, previous: dict[tuple[Any, Any], JsonObject]
    ) -> JsonObject:
        kind = command.get("type", 1)
        permissions = command.get("default_member_permissions")
        normalized: JsonObject = {
            "id": "",
            "application_id": self.world.application_id,
            "version": "",
            "default_member_permissions": None if permissions is None else str(permissions),
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description") or "",
            "description_localizations": command.get("description_localizations"),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
            "nsfw": bool(command.get("nsfw", False)),
        }
        if guild_id is not None:
            normalized["guild_id"] = guild_id
        else:
            normalized["dm_permission"] = command.get("dm_permission", True) is not False
        if command.get("options"):
            normalized["options"] = _clean(command["options"])
        before = previous.get((kind, command["name"]))
        # Re-registering a command keeps its id; the version changes only when it changed.
        normalized["id"] = before["id"] if before else self.world.snowflakes.next_id()
        unchanged = before is not None and {k: v for k, v in before.items() if k != "version"} == {
            k: v for k, v in normalized.items() if k != "version"
        }
        normalized["version"] = before["version"] if before and unchanged else self.world.snowflakes.next_id()
        return normalized

    list_global_commands = _list_commands
    list_guild_commands = _list_commands
    overwrite_global_commands = _overwrite_commands
    overwrite_guild_commands = _overwrite_commands
