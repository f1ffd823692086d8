"""Discord's client side: members run commands, click buttons and submit modals, which produces
signed interactions POSTed to the bot's endpoint; the endpoint's answer is then applied the way
Discord applies it (developers/interactions/receiving-and-responding)."""

from __future__ import annotations

import copy
import json
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import requests
from nacl.signing import SigningKey

from .errors import DiscordApiError, FormErrors
from .messages import MessageComposer, MessageExtras, assign_component_ids
from .state import (
    ADMINISTRATOR,
    ATTACHMENT_SIZE_LIMIT,
    BOT_DM_PERMISSIONS,
    DM,
    Channel,
    InteractionRecord,
    JsonObject,
    MessageRecord,
    OpenModal,
    User,
    World,
    new_interaction_token,
)
from .validation import (
    ACTION_ROW,
    BUTTON,
    CHANNEL_SELECT,
    EPHEMERAL,
    FILE_UPLOAD,
    IS_COMPONENTS_V2,
    IS_VOICE_MESSAGE,
    LABEL,
    LOADING,
    MENTIONABLE_SELECT,
    ROLE_SELECT,
    SELECT_TYPES,
    STRING_SELECT,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    TEXT_DISPLAY,
    TEXT_INPUT,
    USER_SELECT,
    validate_modal,
)

# Interaction types and callback types.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
MODAL_SUBMIT = 5
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
MODAL = 9

CHAT_INPUT_COMMAND_MESSAGE = 20
RESPONSE_DEADLINE_SECONDS = 3.0
# Only these flags can be set on an interaction response message.
RESPONSE_MESSAGE_FLAGS = (
    SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
)
USER_AGENT = "Discord-Interactions/1.0 (+https://discord.com)"

OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN, OPTION_USER = 3, 4, 5, 6
OPTION_CHANNEL, OPTION_ROLE, OPTION_MENTIONABLE, OPTION_NUMBER, OPTION_ATTACHMENT = 7, 8, 9, 10, 11
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2

FileSpec = tuple[str, bytes, str]  # (filename, bytes, content_type)


class CommandUnavailableError(ValueError):
    """The member's client would not offer this command here (context, DM, permissions)."""


class ChannelAccessError(ValueError):
    """The member cannot see this channel: another member's DM, or a private thread they are not
    in (without Manage Threads). Their client shows no such channel, so nothing can happen there."""


def require_visible(world: World, user: User, channel: Channel) -> None:
    if world.can_view(channel, user):
        return
    if channel.type == DM:
        raise ChannelAccessError(f"{user.username} cannot see another user's DM")
    if world.member(user, channel.guild_id) is None:
        raise ChannelAccessError(f"{user.username} is not a member of guild {channel.guild_id}")
    if channel.type == 12:
        raise ChannelAccessError(f"{user.username} cannot see private thread {channel.id} ({channel.name})")
    raise ChannelAccessError(f"{user.username} cannot view channel {channel.id} ({channel.name})")


@dataclass
class InteractionResult:
    """What happened to one interaction, as the member would see it."""

    interaction: JsonObject
    status_code: int | None
    response: Any
    failed: bool
    error: str | None = None
    modal: JsonObject | None = None
    message: JsonObject | None = None

    @property
    def token(self) -> str:
        return str(self.interaction["token"])

    def to_dict(self) -> JsonObject:
        return asdict(self)


def sign_request(signing_key: SigningKey, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Discord's signature headers: Ed25519 over ``timestamp + raw body``, hex encoded."""
    timestamp = timestamp or str(int(time.time()))
    signature = signing_key.sign(timestamp.encode() + body).signature.hex()
    return {
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def find_component(components: Sequence[Any], custom_id: str) -> JsonObject | None:
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id:
            return component
        for key in ("components", "component", "accessory"):
            child = component.get(key)
            children = child if isinstance(child, list) else [child] if isinstance(child, dict) else []
            found = find_component(children, custom_id)
            if found is not None:
                return found
    return None


class InteractionClient:
    def __init__(
        self,
        world: World,
        composer: MessageComposer,
        signing_key: SigningKey,
        interactions_url: Callable[[], str | None],
    ) -> None:
        self.world = world
        self.composer = composer
        self.signing_key = signing_key
        self._interactions_url = interactions_url
        self.response_deadline = RESPONSE_DEADLINE_SECONDS
        self._unregistered_ids: dict[str, str] = {}

    # -- transport -----------------------------------------------------------------------------

    def _url(self) -> str:
        url = self._interactions_url()
        if not url:
            raise RuntimeError("interactions_url is not set: point it at the bot's endpoint")
        return url

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> requests.Response:
        return requests.post(
            self._url(), data=body, headers=dict(headers), timeout=self.response_deadline + 2
        )

    def send_signed(self, payload: JsonObject) -> requests.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.send_raw(body, sign_request(self.signing_key, body))

    def ping(self) -> requests.Response:
        interaction_id = self.world.snowflakes.next_id()
        payload = {
            "application_id": self.world.application_id,
            "entitlements": [],
            "id": interaction_id,
            "token": new_interaction_token(interaction_id),
            "type": PING,
            "version": 1,
        }
        return self.send_signed(payload)

    def check_endpoint(self) -> list[str]:
        """What Discord checks when the endpoint URL is saved: a signed PING must get a JSON PONG,
        and requests with a bad or missing signature must get 401. Returns the problems found."""
        problems: list[str] = []
        response = self.ping()
        if response.status_code != 200:
            problems.append(f"PING answered HTTP {response.status_code}")
        elif not response.headers.get("Content-Type", "").startswith("application/json"):
            problems.append("PONG is not application/json")
        else:
            try:
                if response.json() != {"type": PONG}:
                    problems.append(f'PING answered {response.text!r}, not {{"type": 1}}')
            except ValueError:
                problems.append("PONG body is not JSON")
        body = json.dumps({"type": PING, "id": self.world.snowflakes.next_id()}).encode()
        bad_signature = sign_request(SigningKey.generate(), body)
        if self.send_raw(body, bad_signature).status_code != 401:
            problems.append("a request signed with another key was not answered 401")
        unsigned = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.send_raw(body, unsigned).status_code != 401:
            problems.append("an unsigned request was not answered 401")
        return problems

    # -- payloads ------------------------------------------------------------------------------

    def member_object(self, user: User, channel: Channel) -> JsonObject:
        """The interaction's ``member``: with ``permissions`` in the channel, overwrites included."""
        member = self.world.guild_member_object(user, channel.guild_id)
        return {**member, "permissions": str(self.world.channel_permissions(user, channel))}

    def _base_payload(
        self, user: User, channel: Channel, interaction_type: int, data: JsonObject
    ) -> JsonObject:
        world = self.world
        interaction_id = world.snowflakes.next_id()
        in_guild = channel.type != DM
        guild_id = channel.guild_id or ""
        channel_object = world.channel_object(channel)
        if in_guild:
            channel_object["permissions"] = str(world.channel_permissions(user, channel))
        app_permissions = (
            world.channel_permissions(world.bot_user, channel) if in_guild else BOT_DM_PERMISSIONS
        )
        payload: JsonObject = {
            "app_permissions": str(app_permissions),
            "application_id": world.application_id,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "authorizing_integration_owners": {"0": guild_id if in_guild else "0"},
            "channel": channel_object,
            "channel_id": channel.id,
            "context": 0 if in_guild else 1,
            "data": data,
            "entitlements": [],
            "id": interaction_id,
            "locale": user.locale,
            "token": new_interaction_token(interaction_id),
            "type": interaction_type,
            "version": 1,
        }
        if in_guild:
            payload["guild"] = {"id": guild_id, "locale": "en-US", "features": []}
            payload["guild_id"] = guild_id
            payload["guild_locale"] = "en-US"
            payload["member"] = self.member_object(user, channel)
        else:
            payload["user"] = user.to_object()
        return payload

    def _user_channel(self, user: User, channel: str, guild_id: str | None = None) -> Channel:
        if guild_id is not None:
            self.world.require_guild(guild_id)
        resolved = self.world.resolve_channel(channel, user=user, guild_id=guild_id)
        if guild_id is not None and resolved.type != DM and resolved.guild_id != guild_id:
            raise ValueError(f"channel {channel!r} is not in guild {guild_id}")
        require_visible(self.world, user, resolved)
        return resolved

    def store_user_file(self, channel: Channel, spec: FileSpec) -> JsonObject:
        filename, data, content_type = spec
        stored = self.world.store_file(
            channel_id=channel.id,
            filename=filename,
            data=data,
            ephemeral=True,
            content_type=content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
        )
        return self.world.attachment_object(stored.attachment_id)

    # -- application commands ------------------------------------------------------------------

    def _find_command(self, name: str, channel: Channel) -> tuple[JsonObject | None, bool]:
        """The registered command (guild first), and whether any command of that name exists."""
        with self.world.lock:
            guild = self.world.guild_commands.get(channel.guild_id or "", [])
            candidates = ([] if channel.type == DM else list(guild)) + list(self.world.global_commands)
            everywhere = list(guild) + list(self.world.global_commands)
            exists = any(c["name"] == name and c["type"] == 1 for c in everywhere)
            for command in candidates:
                if command["name"] == name and command["type"] == 1:
                    return copy.deepcopy(command), exists
            return None, exists

    def _check_availability(self, command: JsonObject, user: User, channel: Channel) -> None:
        context = 1 if channel.type == DM else 0
        contexts = command.get("contexts")
        if contexts is not None and context not in contexts:
            raise CommandUnavailableError(f"/{command['name']} is not available in context {context}")
        if contexts is None and context == 1 and command.get("dm_permission") is False:
            raise CommandUnavailableError(f"/{command['name']} is not available in DMs")
        required = command.get("default_member_permissions")
        if context == 0 and required is not None:
            permissions = self.world.member_permissions(user, channel.guild_id)
            needed = int(required) or ADMINISTRATOR  # "0" hides the command from all but admins
            if permissions & needed != needed:
                raise CommandUnavailableError(
                    f"{user.username} lacks permissions {required} for /{command['name']}"
                )

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
        user = self.world.require_user(username)
        where = self._user_channel(user, channel, guild_id)
        command, exists = self._find_command(name, where)
        if command is None and exists:
            raise CommandUnavailableError(f"/{name} is registered but not offered in this channel")
        if command is not None:
            self._check_availability(command, user, where)
        builder = _OptionBuilder(self, where)
        built = builder.build(
            command.get("options") if command else None,
            dict(options or {}),
            dict(attachments or {}),
            command_name=name,
        )
        data: JsonObject = {
            "id": command["id"] if command else self._unregistered_command_id(name),
            "name": name,
            "type": command["type"] if command else 1,
        }
        if built:
            data["options"] = built
        if builder.resolved:
            data["resolved"] = builder.resolved
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        payload = self._base_payload(user, where, APPLICATION_COMMAND, data)
        metadata = self._metadata(payload, user)
        metadata.update({"name": name, "command_type": data["type"]})
        return self._deliver(payload, user, where, metadata=metadata, command_name=name)

    def _unregistered_command_id(self, name: str) -> str:
        with self.world.lock:
            return self._unregistered_ids.setdefault(name, self.world.snowflakes.next_id())

    # -- components and modals -----------------------------------------------------------------

    def click(
        self,
        username: str,
        message: Mapping[str, Any],
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        guild_id: str | None = None,
    ) -> InteractionResult:
        user = self.world.require_user(username)
        stored, channel, component, rendered = self._component_message(
            user, str(message.get("id")), custom_id, guild_id
        )
        data: JsonObject = {"custom_id": custom_id, "component_type": component.get("type", BUTTON)}
        if component.get("type") in SELECT_TYPES:
            data["values"] = list(values or [])
        return self._deliver_component(user, channel, stored, rendered, data)

    def _deliver_component(
        self, user: User, channel: Channel, stored: MessageRecord, rendered: JsonObject, data: JsonObject
    ) -> InteractionResult:
        """A MESSAGE_COMPONENT interaction on ``stored`` (``rendered`` as the member sees it)."""
        payload = self._base_payload(user, channel, MESSAGE_COMPONENT, data)
        payload["message"] = rendered
        metadata = self._metadata(payload, user)
        metadata["interacted_message_id"] = stored.id
        return self._deliver(payload, user, channel, metadata=metadata, source_message_id=stored.id)

    def _component_message(
        self, user: User, message_id: str, custom_id: str, guild_id: str | None
    ) -> tuple[MessageRecord, Channel, JsonObject, JsonObject]:
        """The message (as ``user`` sees it), its channel, the enabled component, its rendering."""
        with self.world.lock:
            stored = self.world.messages.get(message_id)
            if stored is None or stored.deleted:
                raise ValueError(f"unknown message {message_id!r}")
            if stored.visible_to not in (None, user.id):
                raise ValueError(f"{user.username} cannot see message {stored.id}")
            channel = self.world.channels[stored.channel_id]
            if guild_id is not None and channel.guild_id != guild_id:
                raise ValueError(f"message {stored.id} is not in guild {guild_id}")
            require_visible(self.world, user, channel)
            component = find_component(stored.components, custom_id)
            rendered = self.world.render_message(stored)
        if component is None:
            raise ValueError(f"message {stored.id} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        return stored, channel, component, rendered

    def select(
        self,
        username: str,
        message_id: str,
        custom_id: str,
        values: Sequence[str],
        *,
        guild_id: str | None = None,
    ) -> InteractionResult:
        """Choose ``values`` in a select menu: option values for a string select; user names or
        ids, role names or ids, channel names or ids for the others. The client only offers what
        it would (counts within min/max_values, existing options, members of the server, roles of
        the server, channels of the allowed types the member can see)."""
        user = self.world.require_user(username)
        stored, channel, component, rendered = self._component_message(user, message_id, custom_id, guild_id)
        kind = component.get("type")
        if kind not in SELECT_TYPES:
            raise ValueError(f"component {custom_id!r} is not a select menu")
        chosen = list(values)
        minimum, maximum = int(component.get("min_values", 1)), int(component.get("max_values", 1))
        if not minimum <= len(chosen) <= maximum:
            raise ValueError(f"select {custom_id!r} takes {minimum}-{maximum} values, not {len(chosen)}")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"select {custom_id!r}: a value can be chosen once")
        resolver = _SelectResolver(self, user, channel)
        data: JsonObject = {
            "custom_id": custom_id,
            "component_type": kind,
            "values": resolver.resolve(component, chosen),
        }
        if kind != STRING_SELECT:
            data["resolved"] = resolver.resolved
        return self._deliver_component(user, channel, stored, rendered, data)

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
        user = self.world.require_user(username)
        modal_data = dict(modal["data"]) if modal.get("type") == MODAL and "data" in modal else dict(modal)
        custom_id = str(modal_data.get("custom_id"))
        with self.world.lock:
            opened = self.world.open_modals.get((user.id, custom_id))
        if channel is not None:
            where = self._user_channel(user, channel, guild_id)
        elif opened is not None:
            where = self.world.channels[opened.channel_id]
            if guild_id is not None and where.guild_id != guild_id:
                raise ValueError(f"the modal {custom_id!r} was opened outside guild {guild_id}")
            require_visible(self.world, user, where)
        else:
            where = self._user_channel(user, "general", guild_id)
        filler = _ModalFiller(self, where, dict(values), {k: list(v) for k, v in (files or {}).items()})
        components = filler.fill(modal_data.get("components") or [])
        # Only a submission the client accepts closes the modal; a refused one leaves it open.
        with self.world.lock:
            self.world.open_modals.pop((user.id, custom_id), None)
        data: JsonObject = {"custom_id": custom_id, "components": components}
        if filler.attachments:
            data["resolved"] = {"attachments": filler.attachments}
        payload = self._base_payload(user, where, MODAL_SUBMIT, data)
        source_id = opened.source_message_id if opened else None
        if source_id is not None:
            with self.world.lock:
                payload["message"] = self.world.render_message(self.world.messages[source_id])
        return self._deliver(
            payload, user, where, metadata=self._metadata(payload, user), source_message_id=source_id
        )

    # -- delivering and applying the answer ------------------------------------------------------

    def _metadata(self, payload: JsonObject, user: User) -> JsonObject:
        return {
            "id": payload["id"],
            "type": payload["type"],
            "user": user.to_object(),
            "authorizing_integration_owners": dict(payload["authorizing_integration_owners"]),
        }

    def _deliver(
        self,
        payload: JsonObject,
        user: User,
        channel: Channel,
        *,
        metadata: JsonObject,
        source_message_id: str | None = None,
        command_name: str | None = None,
    ) -> InteractionResult:
        record = InteractionRecord(
            id=payload["id"],
            token=payload["token"],
            type=payload["type"],
            user_id=user.id,
            channel_id=channel.id,
            payload=payload,
            source_message_id=source_message_id,
            message_metadata=metadata,
        )
        with self.world.lock:
            self.world.interactions[record.token] = record
        result = InteractionResult(interaction=payload, status_code=None, response=None, failed=True)
        try:
            self._exchange(record, result, command_name)
        finally:
            with self.world.lock:
                record.failed = result.failed
            record.settled.set()
        return result

    def _exchange(
        self, record: InteractionRecord, result: InteractionResult, command_name: str | None
    ) -> None:
        body = json.dumps(record.payload, separators=(",", ":")).encode()
        started = time.monotonic()
        try:
            response = self.send_raw_with_deadline(body)
        except requests.Timeout:
            result.error = f"no response within {self.response_deadline:g} seconds (This interaction failed)"
            return
        except requests.RequestException as exc:
            result.error = f"endpoint unreachable: {exc}"
            return
        elapsed = time.monotonic() - started
        result.status_code = response.status_code
        try:
            result.response = response.json()
        except ValueError:
            result.response = None
        if elapsed > self.response_deadline:
            result.error = f"answered after {elapsed:.2f} s, past the {self.response_deadline:g} s deadline"
        elif response.status_code != 200:
            result.error = f"endpoint answered HTTP {response.status_code}"
        elif not response.headers.get("Content-Type", "").lower().startswith("application/json"):
            result.error = (
                f"response Content-Type is {response.headers.get('Content-Type')!r}, not application/json"
            )
        elif not isinstance(result.response, dict):
            result.error = "response body is not a JSON object"
        else:
            result.error = self._apply(record, result, result.response, command_name)
        result.failed = result.error is not None

    def send_raw_with_deadline(self, body: bytes) -> requests.Response:
        return requests.post(
            self._url(),
            data=body,
            headers=sign_request(self.signing_key, body),
            timeout=self.response_deadline,
        )

    def _allowed_callbacks(self, record: InteractionRecord) -> set[int]:
        if record.type == APPLICATION_COMMAND:
            return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}
        if record.type == MESSAGE_COMPONENT:
            return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL}
        # A modal submit may update the message only if the modal came from one of its components.
        if record.source_message_id is not None:
            return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}
        return {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE}

    def _callback_problem(self, record: InteractionRecord, answer: JsonObject) -> str | None:
        callback = answer.get("type")
        if not isinstance(callback, int) or isinstance(callback, bool):
            return 'response has no integer "type"'
        if callback not in self._allowed_callbacks(record):
            if callback == MODAL and record.type == MODAL_SUBMIT:
                return "a modal cannot be the response to a modal submit"
            return f"callback type {callback} is not valid for interaction type {record.type}"
        data = answer.get("data")
        if data is not None and not isinstance(data, dict):
            return '"data" must be an object'
        problem = None
        if callback == DEFERRED_CHANNEL_MESSAGE:
            flags = (data or {}).get("flags") or 0
            if not isinstance(flags, int) or flags & ~EPHEMERAL:
                problem = "a deferred response (type 5) may only set the EPHEMERAL flag"
        elif callback == MODAL:
            errors = FormErrors()
            validate_modal(errors, data)
            problem = f"invalid modal: {errors.describe()}" if errors else None
        return problem

    def _apply(
        self,
        record: InteractionRecord,
        result: InteractionResult,
        answer: JsonObject,
        command_name: str | None,
    ) -> str | None:
        """Apply a callback to the world; returns an error description when Discord would reject it."""
        problem = self._callback_problem(record, answer)
        if problem is not None:
            return problem
        callback = int(answer["type"])
        data: JsonObject = answer.get("data") or {}
        try:
            if callback == CHANNEL_MESSAGE:
                message, _ = self.composer.create(
                    channel_id=record.channel_id,
                    author_id=self.world.bot_user.id,
                    payload=data,
                    files=[],
                    allowed_flags=RESPONSE_MESSAGE_FLAGS,
                    extras=self._response_extras(record, command_name),
                    write_kind="interaction_response",
                )
                self._set_original(record, callback, message, result)
            elif callback == DEFERRED_CHANNEL_MESSAGE:
                placeholder, _ = self.composer.create(
                    channel_id=record.channel_id,
                    author_id=self.world.bot_user.id,
                    payload={"flags": data.get("flags") or 0},
                    files=[],
                    allowed_flags=EPHEMERAL,
                    extras=self._response_extras(record, command_name),
                    write_kind=None,
                    extra_flags=LOADING,
                    allow_empty=True,
                )
                self._set_original(record, callback, placeholder, result)
            elif callback in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
                with self.world.lock:
                    source = self.world.messages[record.source_message_id or ""]
                if callback == UPDATE_MESSAGE:
                    self.composer.edit(
                        source,
                        payload=data,
                        files=[],
                        allowed_flags=RESPONSE_MESSAGE_FLAGS,
                        write_kind="interaction_update",
                    )
                self._set_original(record, callback, source, result)
            elif callback == MODAL:
                self._open_modal(record, data)
                result.modal = copy.deepcopy(data)
        except DiscordApiError as exc:
            detail = f" {json.dumps(exc.errors)}" if exc.errors else ""
            return f"invalid response data: {exc.code} {exc.message}{detail}"
        return None

    def _response_extras(self, record: InteractionRecord, command_name: str | None) -> MessageExtras:
        return MessageExtras(
            message_type=CHAT_INPUT_COMMAND_MESSAGE if record.type == APPLICATION_COMMAND else 0,
            visible_to=record.user_id,
            webhook_id=self.world.application_id,
            application_id=self.world.application_id,
            interaction_metadata=copy.deepcopy(record.message_metadata),
            legacy_interaction=self._legacy_interaction(record, command_name),
            interaction_token=record.token,
        )

    def _open_modal(self, record: InteractionRecord, data: JsonObject) -> None:
        with self.world.lock:
            record.response_type = MODAL
            record.modal = copy.deepcopy(data)
            self.world.open_modals[(record.user_id, str(data["custom_id"]))] = OpenModal(
                data=copy.deepcopy(data),
                channel_id=record.channel_id,
                source_message_id=record.source_message_id,
                interaction_id=record.id,
            )

    def _set_original(
        self, record: InteractionRecord, callback: int, message: MessageRecord, result: InteractionResult
    ) -> None:
        with self.world.lock:
            record.response_type = callback
            record.original_message_id = message.id
            result.message = self.world.render_message(message)

    def _legacy_interaction(self, record: InteractionRecord, command_name: str | None) -> JsonObject | None:
        if record.type != APPLICATION_COMMAND:
            return None
        with self.world.lock:
            user = self.world.users[record.user_id]
        return {"id": record.id, "type": record.type, "name": command_name, "user": user.to_object()}


class _OptionBuilder:
    """Turns ``{"name": value}`` into interaction options, typed from the registered command
    (or inferred when the command was never registered), filling ``data.resolved``."""

    def __init__(self, client: InteractionClient, channel: Channel) -> None:
        self.client = client
        self.world = client.world
        self.channel = channel
        self.resolved: JsonObject = {}

    def build(
        self,
        definitions: list[JsonObject] | None,
        values: dict[str, Any],
        attachments: dict[str, FileSpec],
        *,
        command_name: str,
    ) -> list[JsonObject]:
        if definitions is None:
            return self._inferred(values, attachments)
        by_name = {d["name"]: d for d in definitions}
        # With subcommands, the files belong to the chosen subcommand's options.
        has_subcommands = any(d["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for d in definitions)
        self._check_names(by_name, values, attachments, has_subcommands, command_name)
        built: list[JsonObject] = []
        for definition in definitions:
            name = definition["name"]
            kind = definition["type"]
            if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
                if name in values:
                    nested = values[name] if isinstance(values[name], dict) else {}
                    built.append(
                        {
                            "name": name,
                            "type": kind,
                            "options": self.build(
                                definition.get("options") or [],
                                nested,
                                attachments if kind == SUB_COMMAND else {},
                                command_name=f"{command_name} {name}",
                            ),
                        }
                    )
                continue
            if kind == OPTION_ATTACHMENT:
                if name in attachments:
                    built.append({"name": name, "type": kind, "value": self._attachment(attachments[name])})
                elif name in values:
                    raise ValueError(f"option {name!r} is an ATTACHMENT: pass it in attachments=")
                elif definition.get("required"):
                    raise ValueError(f"/{command_name} requires option {name!r}")
                continue
            if name not in values:
                if definition.get("required"):
                    raise ValueError(f"/{command_name} requires option {name!r}")
                continue
            built.append({"name": name, "type": kind, "value": self._typed(definition, values[name])})
        return built

    @staticmethod
    def _check_names(
        by_name: dict[str, JsonObject],
        values: dict[str, Any],
        attachments: dict[str, FileSpec],
        has_subcommands: bool,
        command_name: str,
    ) -> None:
        for name in [*values, *(() if has_subcommands else attachments)]:
            if name not in by_name:
                raise ValueError(f"/{command_name} has no option {name!r}")
        if has_subcommands and len(values) != 1:
            # A Discord client sends a command with subcommands only with one of them chosen.
            choices = ", ".join(sorted(by_name))
            raise ValueError(f"/{command_name} needs exactly one subcommand: {choices}")

    def _inferred(self, values: dict[str, Any], attachments: dict[str, FileSpec]) -> list[JsonObject]:
        built: list[JsonObject] = []
        for name, value in values.items():
            if isinstance(value, dict):
                built.append({"name": name, "type": SUB_COMMAND, "options": self._inferred(value, {})})
            elif isinstance(value, bool):
                built.append({"name": name, "type": OPTION_BOOLEAN, "value": value})
            elif isinstance(value, int):
                built.append({"name": name, "type": OPTION_INTEGER, "value": value})
            elif isinstance(value, float):
                built.append({"name": name, "type": OPTION_NUMBER, "value": value})
            else:
                built.append({"name": name, "type": OPTION_STRING, "value": str(value)})
        for name, spec in attachments.items():
            built.append({"name": name, "type": OPTION_ATTACHMENT, "value": self._attachment(spec)})
        return built

    def _attachment(self, spec: FileSpec) -> str:
        attachment = self.client.store_user_file(self.channel, spec)
        self.resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return str(attachment["id"])

    def _resolve_user(self, value: Any) -> str:
        user = self.world.require_user(str(value))
        self.resolved.setdefault("users", {})[user.id] = user.to_object()
        if self.channel.type != DM and self.world.member(user, self.channel.guild_id) is not None:
            member = self.client.member_object(user, self.channel)
            del member["user"]
            self.resolved.setdefault("members", {})[user.id] = member
        return user.id

    def _typed(self, definition: JsonObject, value: Any) -> Any:
        kind, name = definition["type"], definition["name"]
        converters: dict[int, Callable[[JsonObject, Any], Any]] = {
            OPTION_STRING: self._string,
            OPTION_INTEGER: self._integer,
            OPTION_NUMBER: self._number,
            OPTION_BOOLEAN: self._boolean,
            OPTION_USER: lambda _definition, raw: self._resolve_user(raw),
            OPTION_CHANNEL: lambda _definition, raw: self._resolve_channel(raw),
            OPTION_ROLE: lambda _definition, raw: self._resolve_role(raw),
            OPTION_MENTIONABLE: lambda _definition, raw: self._resolve_mentionable(raw),
        }
        if kind not in converters:
            raise ValueError(f"option {name!r} has unsupported type {kind}")
        typed = converters[kind](definition, value)
        choices = definition.get("choices")
        if choices and typed not in [choice.get("value") for choice in choices]:
            raise ValueError(f"option {name!r} must be one of its choices")
        return typed

    @staticmethod
    def _string(definition: JsonObject, value: Any) -> str:
        name = definition["name"]
        if not isinstance(value, str):
            raise ValueError(f"option {name!r} expects a string")
        minimum, maximum = definition.get("min_length", 0), definition.get("max_length", 6000)
        if not minimum <= len(value) <= maximum:
            raise ValueError(f"option {name!r} must be {minimum}-{maximum} characters")
        return value

    @staticmethod
    def _integer(definition: JsonObject, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"option {definition['name']!r} expects an integer")
        return value

    @staticmethod
    def _number(definition: JsonObject, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"option {definition['name']!r} expects a number")
        return value

    @staticmethod
    def _boolean(definition: JsonObject, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"option {definition['name']!r} expects a boolean")
        return value

    def _resolve_channel(self, value: Any) -> str:
        channel = self.world.resolve_channel(str(value), guild_id=self.channel.guild_id)
        self.resolved.setdefault("channels", {})[channel.id] = self.world.channel_object(channel)
        return channel.id

    def _resolve_role(self, value: Any) -> str:
        role = self.world.resolve_role(str(value), self.channel.guild_id)
        self.resolved.setdefault("roles", {})[role.id] = role.to_object()
        return role.id

    def _resolve_mentionable(self, value: Any) -> str:
        try:
            return self._resolve_user(value)
        except ValueError:
            return self._resolve_role(value)


class _ModalFiller:
    """Builds MODAL_SUBMIT ``data.components`` mirroring the modal, as the client would fill it in
    (developers/components/reference: Label, Text Input and File Upload interaction responses)."""

    def __init__(
        self,
        client: InteractionClient,
        channel: Channel,
        values: dict[str, str | Sequence[str]],
        files: dict[str, list[FileSpec]],
    ) -> None:
        self.client = client
        self.channel = channel
        self.values = values
        self.files = files
        self.attachments: JsonObject = {}
        self._used: set[str] = set()

    def fill(self, components: list[JsonObject]) -> list[JsonObject]:
        # Components the bot left without an id are numbered by Discord; the submit echoes them.
        numbered = assign_component_ids(components)
        submitted = [self._top_level(component) for component in numbered]
        unknown = (set(self.values) | set(self.files)) - self._used
        if unknown:
            raise ValueError(f"the modal has no inputs named {sorted(unknown)}")
        return [component for component in submitted if component is not None]

    def _top_level(self, component: JsonObject) -> JsonObject | None:
        kind = component.get("type")
        if kind == LABEL:
            return {
                "type": LABEL,
                "id": component["id"],
                "component": self._child(component.get("component") or {}),
            }
        if kind == ACTION_ROW:
            return {
                "type": ACTION_ROW,
                "id": component["id"],
                "components": [self._child(child) for child in component.get("components") or []],
            }
        if kind == TEXT_DISPLAY:
            return {"type": TEXT_DISPLAY, "id": component["id"]}
        raise ValueError(f"modal component type {kind!r} cannot be filled in")

    def _child(self, component: JsonObject) -> JsonObject:
        kind = component.get("type")
        custom_id = str(component.get("custom_id"))
        self._used.add(custom_id)
        if kind == TEXT_INPUT:
            raw = self.values.get(custom_id, component.get("value") or "")
            if not isinstance(raw, str):
                raise ValueError(f"text input {custom_id!r} takes a string")
            minimum = int(component.get("min_length") or 0)
            maximum = int(component.get("max_length") or 4000)
            required = component.get("required", True) is not False
            if required and not raw:
                raise ValueError(f"text input {custom_id!r} is required")
            if raw and not minimum <= len(raw) <= maximum:
                raise ValueError(f"text input {custom_id!r} takes {minimum}-{maximum} characters")
            return {"type": TEXT_INPUT, "id": component["id"], "custom_id": custom_id, "value": raw}
        if kind == FILE_UPLOAD:
            specs = self.files.get(custom_id, [])
            required = component.get("required", True) is not False
            minimum = int(component.get("min_values", 1 if required else 0))
            maximum = int(component.get("max_values", 1))
            if (specs or required) and not minimum <= len(specs) <= maximum:
                raise ValueError(f"file upload {custom_id!r} takes {minimum}-{maximum} files")
            ids: list[str] = []
            for spec in specs:
                attachment = self.client.store_user_file(self.channel, spec)
                self.attachments[attachment["id"]] = attachment
                ids.append(str(attachment["id"]))
            return {"type": FILE_UPLOAD, "id": component["id"], "custom_id": custom_id, "values": ids}
        if kind in SELECT_TYPES:
            raw_values = self.values.get(custom_id, [])
            chosen = [raw_values] if isinstance(raw_values, str) else list(raw_values)
            return {"type": kind, "id": component["id"], "custom_id": custom_id, "values": chosen}
        raise ValueError(f"modal input type {kind!r} is not supported by the emulator")


class _SelectResolver:
    """A select menu's chosen values as ids, and ``data.resolved`` in the documented shapes:
    ``users`` + ``members`` (partial, with ``permissions`` in the channel), ``roles``, and partial
    ``channels`` (id, name, type, ``permissions`` = the member's there; threads add
    ``parent_id`` and ``thread_metadata``)."""

    def __init__(self, client: InteractionClient, user: User, channel: Channel) -> None:
        self.client = client
        self.world = client.world
        self.user = user
        self.channel = channel
        self.resolved: JsonObject = {}

    def resolve(self, component: JsonObject, values: list[str]) -> list[str]:
        kind = component.get("type")
        if kind == STRING_SELECT:
            options = [str(option.get("value")) for option in component.get("options") or []]
            for value in values:
                if value not in options:
                    raise ValueError(f"{value!r} is not an option of select {component.get('custom_id')!r}")
            return values
        if self.channel.guild_id is None:
            if kind != USER_SELECT:
                raise ValueError("only user selects work outside a server")
            return [self._user(value) for value in values]
        resolvers: dict[int, Callable[[str], str]] = {
            USER_SELECT: self._member,
            ROLE_SELECT: self._role,
            MENTIONABLE_SELECT: self._mentionable,
            CHANNEL_SELECT: lambda value: self._channel(value, component.get("channel_types")),
        }
        return [resolvers[int(kind or 0)](value) for value in values]

    def _user(self, value: str) -> str:
        user = self.world.require_user(value)
        self.resolved.setdefault("users", {})[user.id] = user.to_object()
        return user.id

    def _member(self, value: str) -> str:
        user = self.world.require_user(value)
        if self.world.member(user, self.channel.guild_id) is None:
            raise ValueError(f"{user.username} is not a member of this server")
        self._user(value)
        member = self.client.member_object(user, self.channel)
        del member["user"]
        self.resolved.setdefault("members", {})[user.id] = member
        return user.id

    def _role(self, value: str) -> str:
        role = self.world.find_role(value, self.channel.guild_id)
        if role is None:
            raise ValueError(f"{value!r} is not a role of this server")
        self.resolved.setdefault("roles", {})[role.id] = role.to_object()
        return role.id

    def _mentionable(self, value: str) -> str:
        if self.world.find_role(value, self.channel.guild_id) is not None:
            return self._role(value)
        return self._member(value)

    def _channel(self, value: str, channel_types: Any) -> str:
        try:
            channel = self.world.resolve_channel(value, guild_id=self.channel.guild_id)
        except ValueError:
            raise ValueError(f"{value!r} is not a channel of this server") from None
        if channel.guild_id != self.channel.guild_id or not self.world.can_view(channel, self.user):
            raise ValueError(f"{self.user.username} cannot pick channel {value!r}")
        if channel_types and channel.type not in channel_types:
            raise ValueError(f"channel {value!r} is not of the types {channel_types}")
        partial: JsonObject = {
            "id": channel.id,
            "name": channel.name,
            "type": channel.type,
            "permissions": str(self.world.channel_permissions(self.user, channel)),
        }
        if channel.thread is not None:
            rendered = self.world.channel_object(channel)
            partial["parent_id"] = rendered["parent_id"]
            partial["thread_metadata"] = rendered["thread_metadata"]
        self.resolved.setdefault("channels", {})[channel.id] = partial
        return channel.id
