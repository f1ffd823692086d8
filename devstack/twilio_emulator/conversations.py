"""Conversations (v1) behaviour: the rules of each change, and the webhook events it raises.

The REST handlers and the scripted Flex agent both go through :class:`ConversationService`, so a
message typed by the agent and one posted over REST follow the same rules; only their
:class:`~.webhooks.EventOrigin` differs. Callers hold ``state.lock`` around each call (the
service's methods take it too, re-entrantly), so a change and its events are queued atomically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from .clock import iso_millis
from .errors import TwilioApiError
from .sids import is_sid, new_sid
from .state import Conversation, Message, Participant, ScopedWebhook, TwilioState
from .webhooks import EventOrigin, StudioTrigger, WebhookDispatcher, WebhookTarget

MAX_SCOPED_WEBHOOKS = 5  # Twilio error 50361 past this
MAX_TRIGGER_KEYWORDS = 5  # 50362
MAX_TRIGGER_KEYWORD_LENGTH = 248  # 50366
MAX_WEBHOOK_URL_LENGTH = 512  # 50372
MAX_BODY_LENGTH = 1600
MAX_IDENTITY_LENGTH = 256
WEBHOOK_TARGETS = ("webhook", "trigger", "studio")


@dataclass(frozen=True)
class TimerChange:
    """``Timers.Inactive`` / ``Timers.Closed`` of a request: None leaves a timer as it is, 0.0
    clears it (``PT0S``), anything else is seconds."""

    inactive: float | None = None
    closed: float | None = None

    @property
    def any(self) -> bool:
        return self.inactive is not None or self.closed is not None


@dataclass(frozen=True)
class ConversationChange:
    """What creating or updating a conversation sets (None leaves a field as it is)."""

    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str | None = None
    state: str | None = None
    timers: TimerChange = TimerChange()
    messaging_service_sid: str | None = None


@dataclass(frozen=True)
class WebhookConfiguration:
    """The ``Configuration.*`` a conversation-scoped webhook is created or updated with (None
    leaves a field as it is)."""

    url: str | None = None
    method: str | None = None
    filters: list[str] | None = None
    triggers: list[str] | None = None
    flow_sid: str | None = None


class ConversationService:
    def __init__(self, state: TwilioState, dispatcher: WebhookDispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher

    @contextmanager
    def _changing(self, conversation: Conversation) -> Iterator[None]:
        """Hold the lock around a change, which a closed conversation refuses (Twilio's 50377)."""
        with self.state.lock:
            if conversation.state == "closed":
                raise TwilioApiError.conversation_closed()
            yield

    def _now_and_created(self, date_created: float | None) -> tuple[float, float]:
        """Now, and a new record's ``DateCreated`` (given, or now)."""
        now = self.state.clock.now()
        return now, date_created if date_created is not None else now

    # -- lookups -------------------------------------------------------------------------------

    def conversation(self, sid_or_unique_name: str) -> Conversation:
        """A conversation by SID, or by unique name (Twilio accepts either in the URL)."""
        with self.state.lock:
            found = self.state.conversations.get(sid_or_unique_name)
            if found is None:
                found = next(
                    (c for c in self.state.conversations.values() if c.unique_name == sid_or_unique_name),
                    None,
                )
            if found is None:
                raise TwilioApiError.not_found(f"/Conversations/{sid_or_unique_name}")
            return found

    def participant(self, conversation: Conversation, sid_or_identity: str) -> Participant:
        """A participant by SID, or by identity (Twilio accepts either in the URL)."""
        with self.state.lock:
            found = conversation.participants.get(sid_or_identity) or conversation.participant_by_identity(
                sid_or_identity
            )
            if found is None:
                raise TwilioApiError.participant_not_found()
            return found

    def message(self, conversation: Conversation, sid: str) -> Message:
        with self.state.lock:
            found = next((m for m in conversation.messages if m.sid == sid), None)
            if found is None:
                raise TwilioApiError.not_found(f"/Conversations/{conversation.sid}/Messages/{sid}")
            return found

    def webhook(self, conversation: Conversation, sid: str) -> ScopedWebhook:
        with self.state.lock:
            found = conversation.webhooks.get(sid)
            if found is None:
                raise TwilioApiError.not_found(f"/Conversations/{conversation.sid}/Webhooks/{sid}")
            return found

    # -- conversations -------------------------------------------------------------------------

    def create_conversation(
        self, change: ConversationChange = ConversationChange(), *, date_created: float | None = None
    ) -> Conversation:
        with self.state.lock:
            if change.timers.any and change.state is None:
                raise TwilioApiError.timer_without_state()
            if change.state == "closed":
                raise TwilioApiError.initial_state_closed()
            self._check_unique_name(change.unique_name, None)
            now, created = self._now_and_created(date_created)
            conversation = Conversation(
                sid=new_sid("CH"),
                chat_service_sid=self.state.chat_service_sid,
                friendly_name=change.friendly_name,
                unique_name=change.unique_name,
                attributes=change.attributes if change.attributes is not None else "{}",
                state=change.state or "active",
                date_created=created,
                date_updated=created,
                inactive_after=change.timers.inactive or None,
                closed_after=change.timers.closed or None,
                last_activity=now,
            )
            if change.messaging_service_sid is not None:
                conversation.messaging_service_sid = change.messaging_service_sid
            self.state.conversations[conversation.sid] = conversation
            return conversation

    def _check_unique_name(self, unique_name: str | None, own_sid: str | None) -> None:
        if unique_name is None:
            return
        if is_sid(unique_name, "CH"):
            raise TwilioApiError.unique_name_looks_like_sid()
        for other in self.state.conversations.values():
            if other.unique_name == unique_name and other.sid != own_sid:
                raise TwilioApiError.unique_name_taken()

    def update_conversation(
        self, conversation: Conversation, change: ConversationChange, *, origin: EventOrigin
    ) -> Conversation:
        with self._changing(conversation):
            if change.state == "initializing":
                raise TwilioApiError.invalid_parameter(
                    "Invalid State: a conversation can't be set to initializing"
                )
            self._check_unique_name(change.unique_name, conversation.sid)
            now = self.state.clock.now()
            for name in ("friendly_name", "unique_name", "attributes", "messaging_service_sid"):
                if (value := getattr(change, name)) is not None:
                    setattr(conversation, name, value)
            timers = change.timers
            if timers.any:
                # Setting a timer restarts its countdown from now.
                if timers.inactive is not None:
                    conversation.inactive_after = timers.inactive or None
                if timers.closed is not None:
                    conversation.closed_after = timers.closed or None
                conversation.last_activity = now
            conversation.date_updated = now
            if change.state is not None and change.state != conversation.state:
                self._set_state(conversation, change.state, reason="API", origin=origin)
            self._emit_conversation_updated(conversation, origin)
            return conversation

    def close_conversation(
        self, conversation: Conversation, *, origin: EventOrigin, reason: str = "API"
    ) -> None:
        """Move to ``closed`` (Flex does this when an agent ends the chat)."""
        with self.state.lock:
            if conversation.state != "closed":
                conversation.date_updated = self.state.clock.now()
                self._set_state(conversation, "closed", reason=reason, origin=origin)

    def _set_state(
        self, conversation: Conversation, new_state: str, *, reason: str, origin: EventOrigin
    ) -> None:
        old_state = conversation.state
        conversation.state = new_state
        now = self.state.clock.now()
        if new_state == "active":
            conversation.last_activity = now  # timers count again from here
        self._emit(
            conversation,
            "onConversationStateUpdated",
            {
                "ConversationSid": conversation.sid,
                "StateFrom": old_state,
                "StateTo": new_state,
                "Reason": reason,
                "StateUpdated": iso_millis(now),
                "MessagingServiceSid": conversation.messaging_service_sid,
            },
            origin,
        )

    def delete_conversation(self, conversation: Conversation, *, origin: EventOrigin) -> None:
        with self.state.lock:
            now = self.state.clock.now()
            self._emit(
                conversation,
                "onConversationRemoved",
                {
                    **self._conversation_fields(conversation),
                    "DateRemoved": iso_millis(now),
                },
                origin,
            )
            del self.state.conversations[conversation.sid]
            for media in self.state.media.values():
                if media.conversation_sid == conversation.sid:
                    media.conversation_sid = None
                    media.message_sid = None

    def _emit_conversation_updated(self, conversation: Conversation, origin: EventOrigin) -> None:
        self._emit(conversation, "onConversationUpdated", self._conversation_fields(conversation), origin)

    def _conversation_fields(self, conversation: Conversation) -> dict[str, str | None]:
        return {
            "ConversationSid": conversation.sid,
            "DateCreated": iso_millis(conversation.date_created),
            "DateUpdated": iso_millis(conversation.date_updated),
            "FriendlyName": conversation.friendly_name,
            "UniqueName": conversation.unique_name,
            "Attributes": conversation.attributes,
            "MessagingServiceSid": conversation.messaging_service_sid,
            "State": conversation.state,
        }

    def run_timers(self) -> None:
        """Apply every timer that is due (Reason ``TIMER``); the emulator calls this regularly."""
        with self.state.lock:
            now = self.state.clock.now()
            for conversation in list(self.state.conversations.values()):
                date_closed = conversation.date_closed()
                date_inactive = conversation.date_inactive()
                if date_closed is not None and now >= date_closed:
                    conversation.date_updated = now
                    self._set_state(conversation, "closed", reason="TIMER", origin=EventOrigin.platform())
                elif date_inactive is not None and now >= date_inactive:
                    conversation.date_updated = now
                    self._set_state(conversation, "inactive", reason="TIMER", origin=EventOrigin.platform())

    # -- participants --------------------------------------------------------------------------

    def add_participant(
        self,
        conversation: Conversation,
        *,
        origin: EventOrigin,
        identity: str | None = None,
        attributes: str | None = None,
        messaging_binding: Mapping[str, str] | None = None,
        role_sid: str | None = None,
        date_created: float | None = None,
    ) -> Participant:
        with self._changing(conversation):
            binding = self._binding(messaging_binding or {})
            if identity is None and (binding is None or "address" not in binding):
                raise TwilioApiError.invalid_parameter(
                    "A participant needs an Identity (chat) or a MessagingBinding.Address (SMS/WhatsApp)"
                )
            if identity is not None:
                if len(identity) > MAX_IDENTITY_LENGTH:
                    raise TwilioApiError.invalid_parameter("Identity is limited to 256 characters")
                if conversation.participant_by_identity(identity) is not None:
                    raise TwilioApiError.participant_exists()
            _, created = self._now_and_created(date_created)
            participant = Participant(
                sid=new_sid("MB"),
                conversation_sid=conversation.sid,
                identity=identity,
                attributes=attributes if attributes is not None else "{}",
                messaging_binding=binding,
                role_sid=role_sid or self.state.participant_role_sid,
                date_created=created,
                date_updated=created,
            )
            conversation.participants[participant.sid] = participant
            self._emit(conversation, "onParticipantAdded", self._participant_fields(participant), origin)
            return participant

    @staticmethod
    def _binding(fields: Mapping[str, str]) -> dict[str, str] | None:
        """``MessagingBinding.*`` form fields as the ``messaging_binding`` object."""
        address = fields.get("Address")
        proxy = fields.get("ProxyAddress")
        projected = fields.get("ProjectedAddress")
        if address is None and proxy is None and projected is None:
            return None
        if address is not None and proxy is None:
            raise TwilioApiError.missing_parameter("MessagingBinding.ProxyAddress")
        channel = "whatsapp" if (address or proxy or "").startswith("whatsapp:") else "sms"
        binding = {"type": channel}
        if address is not None:
            binding["address"] = address
        if proxy is not None:
            binding["proxy_address"] = proxy
        if projected is not None:
            binding["projected_address"] = projected
        return binding

    def update_participant(
        self,
        conversation: Conversation,
        participant: Participant,
        *,
        origin: EventOrigin,
        attributes: str | None = None,
        role_sid: str | None = None,
        identity: str | None = None,
        last_read_message_index: int | None = None,
        last_read_timestamp: str | None = None,
    ) -> Participant:
        with self._changing(conversation):
            if identity is not None and identity != participant.identity:
                if participant.identity is not None:
                    raise TwilioApiError(400, 50444, "Failed to add an identity to a participant.")
                participant.identity = identity
            if attributes is not None:
                participant.attributes = attributes
            if role_sid is not None:
                participant.role_sid = role_sid
            if last_read_message_index is not None:
                participant.last_read_message_index = last_read_message_index
            if last_read_timestamp is not None:
                participant.last_read_timestamp = last_read_timestamp
            participant.date_updated = self.state.clock.now()
            fields = {
                **self._participant_fields(participant),
                "DateUpdated": iso_millis(participant.date_updated),
                "LastReadMessageIndex": None
                if participant.last_read_message_index is None
                else str(participant.last_read_message_index),
            }
            self._emit(conversation, "onParticipantUpdated", fields, origin)
            return participant

    def remove_participant(
        self, conversation: Conversation, participant: Participant, *, origin: EventOrigin
    ) -> None:
        with self._changing(conversation):
            del conversation.participants[participant.sid]
            now = self.state.clock.now()
            fields = {
                **self._participant_fields(participant),
                "DateUpdated": iso_millis(participant.date_updated),
                "DateRemoved": iso_millis(now),
            }
            self._emit(conversation, "onParticipantRemoved", fields, origin)

    @staticmethod
    def _participant_fields(participant: Participant) -> dict[str, str | None]:
        fields: dict[str, str | None] = {
            "ConversationSid": participant.conversation_sid,
            "ParticipantSid": participant.sid,
            "DateCreated": iso_millis(participant.date_created),
            "Identity": participant.identity,
            "RoleSid": participant.role_sid,
            "Attributes": participant.attributes,
        }
        binding = participant.messaging_binding or {}
        for key, field_name in (
            ("address", "MessagingBinding.Address"),
            ("proxy_address", "MessagingBinding.ProxyAddress"),
            ("projected_address", "MessagingBinding.ProjectedAddress"),
        ):
            if key in binding:
                fields[field_name] = binding[key]
        if binding:
            fields["MessagingBinding.Type"] = binding["type"].upper()
        return fields

    # -- messages ------------------------------------------------------------------------------

    def add_message(
        self,
        conversation: Conversation,
        *,
        origin: EventOrigin,
        author: str | None = None,
        body: str | None = None,
        attributes: str | None = None,
        media_sids: list[str] | None = None,
        date_created: float | None = None,
    ) -> Message:
        with self._changing(conversation):
            media_sids = list(media_sids or [])
            if not body and not media_sids:
                raise TwilioApiError.message_body_missing()
            if body is not None and len(body) > MAX_BODY_LENGTH:
                raise TwilioApiError.invalid_parameter("Body can be up to 1,600 characters long")
            for sid in media_sids:
                media = self.state.media.get(sid)
                if media is None or media.service_sid != conversation.chat_service_sid:
                    raise TwilioApiError.invalid_parameter(
                        f"Invalid MediaSid: no media {sid} in this service"
                    )
                if media.message_sid is not None:
                    raise TwilioApiError.invalid_parameter(f"Invalid MediaSid: {sid} is already attached")
            author = author or "system"
            sender = conversation.participant_by_identity(author)
            now, created = self._now_and_created(date_created)
            message = Message(
                sid=new_sid("IM"),
                conversation_sid=conversation.sid,
                index=conversation.next_message_index,
                author=author,
                body=body,
                attributes=attributes if attributes is not None else "{}",
                media_sids=media_sids,
                participant_sid=sender.sid if sender else None,
                date_created=created,
                date_updated=created,
            )
            conversation.next_message_index += 1
            conversation.messages.append(message)
            for sid in media_sids:
                self.state.media[sid].message_sid = message.sid
                self.state.media[sid].conversation_sid = conversation.sid
            conversation.last_activity = now
            if conversation.state == "inactive":
                # A new message wakes an inactive conversation up.
                self._set_state(conversation, "active", reason="EVENT", origin=origin)
            self._emit(conversation, "onMessageAdded", self._message_fields(conversation, message), origin)
            return message

    def update_message(
        self,
        conversation: Conversation,
        message: Message,
        *,
        origin: EventOrigin,
        author: str | None = None,
        body: str | None = None,
        attributes: str | None = None,
    ) -> Message:
        with self._changing(conversation):
            if body is not None:
                message.body = body
            if author is not None:
                message.author = author
                sender = conversation.participant_by_identity(author)
                message.participant_sid = sender.sid if sender else None
            if attributes is not None:
                message.attributes = attributes
            message.date_updated = self.state.clock.now()
            fields = {
                **self._message_fields(conversation, message),
                "DateUpdated": iso_millis(message.date_updated),
            }
            self._emit(conversation, "onMessageUpdated", fields, origin)
            return message

    def remove_message(self, conversation: Conversation, message: Message, *, origin: EventOrigin) -> None:
        with self._changing(conversation):
            fields = {
                **self._message_fields(conversation, message),
                "DateUpdated": iso_millis(message.date_updated),
                "DateRemoved": iso_millis(self.state.clock.now()),
            }
            conversation.messages.remove(message)
            for sid in message.media_sids:
                self.state.media.pop(sid, None)
            self._emit(conversation, "onMessageRemoved", fields, origin)

    def _message_fields(self, conversation: Conversation, message: Message) -> dict[str, str | None]:
        media = [
            {
                "Sid": record.sid,
                "Filename": record.filename,
                "ContentType": record.content_type,
                "Size": record.size,
                "Category": "media",
            }
            for record in (self.state.media[sid] for sid in message.media_sids if sid in self.state.media)
        ]
        return {
            "ConversationSid": conversation.sid,
            "MessageSid": message.sid,
            "MessagingServiceSid": conversation.messaging_service_sid,
            "Index": str(message.index),
            "DateCreated": iso_millis(message.date_created),
            "Body": message.body,
            "Author": message.author,
            "ParticipantSid": message.participant_sid,
            "Attributes": message.attributes,
            "Media": json.dumps(media) if media else None,
        }

    # -- conversation-scoped webhooks ----------------------------------------------------------

    def add_webhook(
        self,
        conversation: Conversation,
        configuration: WebhookConfiguration,
        *,
        target: str | None,
        replay_after: int | None = None,
    ) -> ScopedWebhook:
        with self.state.lock:
            if target is None or target == "":
                raise TwilioApiError.webhook_target_missing()
            if target not in WEBHOOK_TARGETS:
                raise TwilioApiError.invalid_parameter(
                    f"Invalid Target: {target!r} is not one of {', '.join(WEBHOOK_TARGETS)}"
                )
            if len(conversation.webhooks) >= MAX_SCOPED_WEBHOOKS:
                raise TwilioApiError.too_many_webhooks()
            now = self.state.clock.now()
            webhook = ScopedWebhook(
                sid=new_sid("WH"),
                conversation_sid=conversation.sid,
                target=target,
                url=None,
                method="POST",
                filters=[],
                triggers=[],
                flow_sid=None,
                replay_after=replay_after,
                date_created=now,
                date_updated=now,
            )
            self._configure_webhook(webhook, configuration)
            conversation.webhooks[webhook.sid] = webhook
            if replay_after is not None:
                self._replay(conversation, webhook, replay_after)
            return webhook

    def update_webhook(
        self, conversation: Conversation, webhook: ScopedWebhook, configuration: WebhookConfiguration
    ) -> ScopedWebhook:
        with self.state.lock:
            self._configure_webhook(webhook, configuration)
            webhook.date_updated = self.state.clock.now()
            return webhook

    def delete_webhook(self, conversation: Conversation, webhook: ScopedWebhook) -> None:
        with self.state.lock:
            del conversation.webhooks[webhook.sid]

    @staticmethod
    def _configure_webhook(webhook: ScopedWebhook, configuration: WebhookConfiguration) -> None:
        """Apply configuration fields, then check the result is usable for its target."""
        url, method, triggers = configuration.url, configuration.method, configuration.triggers
        if url is not None:
            if len(url) > MAX_WEBHOOK_URL_LENGTH:
                raise TwilioApiError(400, 50372, "Conversation webhook URL is too long")
            if not re.match(r"https?://", url):
                raise TwilioApiError.invalid_parameter(
                    f"Invalid Configuration.Url: {url!r} is not an absolute URL"
                )
            webhook.url = url
        if method is not None:
            if method.upper() not in ("GET", "POST"):
                raise TwilioApiError.invalid_parameter("Invalid Configuration.Method: use GET or POST")
            webhook.method = method.upper()
        if configuration.filters is not None:
            webhook.filters = list(configuration.filters)
        if triggers is not None:
            if len(triggers) > MAX_TRIGGER_KEYWORDS:
                raise TwilioApiError(400, 50362, "Too many conversation webhook triggers")
            if any(not keyword or len(keyword) > MAX_TRIGGER_KEYWORD_LENGTH for keyword in triggers):
                raise TwilioApiError(400, 50366, "Invalid conversation webhook trigger")
            webhook.triggers = list(triggers)
        if configuration.flow_sid is not None:
            webhook.flow_sid = configuration.flow_sid
        if webhook.target in ("webhook", "trigger") and webhook.url is None:
            raise TwilioApiError.missing_parameter("Configuration.Url")
        if webhook.target == "studio" and webhook.flow_sid is None:
            raise TwilioApiError.missing_parameter("Configuration.FlowSid")

    def _replay(self, conversation: Conversation, webhook: ScopedWebhook, replay_after: int) -> None:
        """``Configuration.ReplayAfter``: send the new webhook the messages from that index on."""
        for message in conversation.messages:
            if message.index >= replay_after:
                fields = self._message_fields(conversation, message)
                self._emit(conversation, "onMessageAdded", fields, EventOrigin.platform(), only=webhook)

    # -- events --------------------------------------------------------------------------------

    def _emit(
        self,
        conversation: Conversation,
        event_type: str,
        fields: Mapping[str, str | None],
        origin: EventOrigin,
        *,
        only: ScopedWebhook | None = None,
    ) -> None:
        """Queue the event for every webhook of the conversation that wants it."""
        if not origin.fire_webhooks:
            return
        params: dict[str, str] = {
            "AccountSid": self.state.account_sid,
            "ChatServiceSid": conversation.chat_service_sid,
            "EventType": event_type,
            "Source": origin.source,
        }
        if origin.source == "SDK" and origin.client_identity:
            params["ClientIdentity"] = origin.client_identity
        params.update({key: value for key, value in fields.items() if value is not None})
        webhooks = [only] if only is not None else list(conversation.webhooks.values())
        for webhook in webhooks:
            if webhook.target == "studio":
                if event_type == "onMessageAdded" and not origin.from_studio:
                    message = self.message(conversation, params["MessageSid"])
                    self.dispatcher.trigger_studio(
                        StudioTrigger(
                            flow_sid=webhook.flow_sid or "",
                            conversation_sid=conversation.sid,
                            message=self.state.render_message(message),
                            params=dict(params),
                        )
                    )
                continue
            if not self._wants(webhook, event_type, params):
                continue
            assert webhook.url is not None  # checked when configured
            self.dispatcher.deliver(
                conversation.sid,
                WebhookTarget(webhook.sid, webhook.url, webhook.method),
                event_type,
                params,
            )

    @staticmethod
    def _wants(webhook: ScopedWebhook, event_type: str, params: Mapping[str, str]) -> bool:
        if webhook.target == "webhook":
            return event_type in webhook.filters
        # target=trigger: a message whose body contains one of the keywords (case-insensitive).
        if event_type != "onMessageAdded":
            return False
        body = params.get("Body", "").lower()
        return any(re.search(rf"\b{re.escape(word.lower())}\b", body) for word in webhook.triggers)


def parse_date(value: str | None, name: str) -> float | None:
    """A ``DateCreated``-style ISO 8601 parameter as a timestamp."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TwilioApiError.invalid_parameter(f"Invalid {name}: expected an ISO 8601 date-time") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
