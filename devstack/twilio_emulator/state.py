"""The emulated account's resources, and how each one is written out as Twilio's JSON.

Everything lives in one :class:`TwilioState`, guarded by one re-entrant lock: the REST handlers,
the scripted agent and the timer thread all change it, and a single lock keeps each change (and
the webhook events it queues) in one order.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, iso_seconds
from .sids import (
    DEFAULT_MESSAGING_SERVICE_SID,
    DEFAULT_PARTICIPANT_ROLE_SID,
    DEFAULT_QUEUE_SID,
    DEFAULT_TASK_CHANNEL_SID,
)

JsonObject = dict[str, Any]

CONVERSATION_STATES = ("initializing", "inactive", "active", "closed")


@dataclass
class MediaRecord:
    """A file in the Media Content Service (MCS)."""

    sid: str
    service_sid: str
    content_type: str
    filename: str | None
    data: bytes
    date_created: float
    author: str = "system"
    message_sid: str | None = None
    conversation_sid: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Participant:
    sid: str
    conversation_sid: str
    identity: str | None
    attributes: str
    messaging_binding: JsonObject | None
    role_sid: str
    date_created: float
    date_updated: float
    last_read_message_index: int | None = None
    last_read_timestamp: str | None = None


@dataclass
class Message:
    sid: str
    conversation_sid: str
    index: int
    author: str
    body: str | None
    attributes: str
    media_sids: list[str]
    participant_sid: str | None
    date_created: float
    date_updated: float


@dataclass
class ScopedWebhook:
    """A conversation-scoped webhook (``target`` is ``webhook``, ``studio`` or ``trigger``)."""

    sid: str
    conversation_sid: str
    target: str
    url: str | None
    method: str
    filters: list[str]
    triggers: list[str]
    flow_sid: str | None
    replay_after: int | None
    date_created: float
    date_updated: float


@dataclass
class Conversation:
    sid: str
    chat_service_sid: str
    friendly_name: str | None
    unique_name: str | None
    attributes: str
    state: str
    date_created: float
    date_updated: float
    messaging_service_sid: str | None = DEFAULT_MESSAGING_SERVICE_SID
    # Timers, in seconds; they count from the last activity (creation or the latest message).
    inactive_after: float | None = None
    closed_after: float | None = None
    last_activity: float = 0.0
    participants: dict[str, Participant] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    webhooks: dict[str, ScopedWebhook] = field(default_factory=dict)
    next_message_index: int = 0

    def participant_by_identity(self, identity: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.identity == identity), None)

    def date_inactive(self) -> float | None:
        if self.inactive_after is None or self.state != "active":
            return None
        return self.last_activity + self.inactive_after

    def date_closed(self) -> float | None:
        if self.closed_after is None or self.state == "closed":
            return None
        return self.last_activity + self.closed_after


@dataclass
class Task:
    """A TaskRouter task created for an interaction: what the scripted agent sees."""

    sid: str
    workspace_sid: str
    workflow_sid: str
    task_channel_unique_name: str
    attributes: JsonObject
    interaction_sid: str
    channel_sid: str
    conversation_sid: str | None
    date_created: float
    date_updated: float
    assignment_status: str = "pending"  # pending → assigned → wrapping → completed (or canceled)
    priority: int = 0
    timeout: int = 86400
    reason: str | None = None
    queue_sid: str = DEFAULT_QUEUE_SID
    task_channel_sid: str = DEFAULT_TASK_CHANNEL_SID
    agent: str | None = None  # the scripted agent's short name ("alex")
    agent_identity: str | None = None  # its Conversations identity ("agent_alex")
    agent_participant_sid: str | None = None
    worker_sid: str | None = None
    reservation_sid: str | None = None


@dataclass
class InteractionChannel:
    sid: str
    interaction_sid: str
    type: str
    status: str
    media_channel_sid: str | None
    task_sids: list[str] = field(default_factory=list)
    error_code: int | None = None
    error_message: str | None = None


@dataclass
class Interaction:
    sid: str
    channel_request: JsonObject  # the Channel JSON as sent
    routing_request: JsonObject  # the Routing JSON as sent
    channel_sid: str
    interaction_context_sid: str | None
    webhook_ttid: str | None
    date_created: float


class TwilioState:
    """All resources of the emulated account."""

    def __init__(
        self,
        *,
        account_sid: str,
        chat_service_sid: str,
        workspace_sid: str,
        workflow_sid: str,
        clock: Clock,
        chat_task_channel_sid: str = DEFAULT_TASK_CHANNEL_SID,
    ) -> None:
        self.lock = threading.RLock()
        self.account_sid = account_sid
        self.chat_service_sid = chat_service_sid
        self.workspace_sid = workspace_sid
        self.workflow_sid = workflow_sid
        self.chat_task_channel_sid = chat_task_channel_sid  # the workspace's "chat" task channel
        self.date_created = clock.now()  # when the (Flex) account was set up
        self.participant_role_sid = DEFAULT_PARTICIPANT_ROLE_SID
        self.clock = clock
        self.conversations: dict[str, Conversation] = {}
        self.media: dict[str, MediaRecord] = {}
        self.interactions: dict[str, Interaction] = {}
        self.interaction_channels: dict[str, InteractionChannel] = {}
        self.tasks: dict[str, Task] = {}
        # Where links in JSON point: "{base}/conversations", "{base}/flex-api", "{base}/mcs".
        self.base_url = ""

    def product_url(self, product: str) -> str:
        return f"{self.base_url}/{product}"

    # -- JSON renderings (snake_case, as the API answers) ------------------------------------

    def conversation_url(self, sid: str) -> str:
        return f"{self.product_url('conversations')}/v1/Conversations/{sid}"

    def render_conversation(self, conversation: Conversation) -> JsonObject:
        url = self.conversation_url(conversation.sid)
        timers: JsonObject = {}
        if (date_inactive := conversation.date_inactive()) is not None:
            timers["date_inactive"] = iso_seconds(date_inactive)
        if (date_closed := conversation.date_closed()) is not None:
            timers["date_closed"] = iso_seconds(date_closed)
        return {
            "sid": conversation.sid,
            "account_sid": self.account_sid,
            "chat_service_sid": conversation.chat_service_sid,
            "messaging_service_sid": conversation.messaging_service_sid,
            "friendly_name": conversation.friendly_name,
            "unique_name": conversation.unique_name,
            "attributes": conversation.attributes,
            "date_created": iso_seconds(conversation.date_created),
            "date_updated": iso_seconds(conversation.date_updated),
            "state": conversation.state,
            "timers": timers,
            "bindings": {},
            "url": url,
            "links": {
                "participants": f"{url}/Participants",
                "messages": f"{url}/Messages",
                "webhooks": f"{url}/Webhooks",
                "export": f"{url}/Export",
            },
        }

    def render_participant(self, participant: Participant) -> JsonObject:
        return {
            "account_sid": self.account_sid,
            "conversation_sid": participant.conversation_sid,
            "sid": participant.sid,
            "identity": participant.identity,
            "attributes": participant.attributes,
            "messaging_binding": participant.messaging_binding,
            "role_sid": participant.role_sid,
            "date_created": iso_seconds(participant.date_created),
            "date_updated": iso_seconds(participant.date_updated),
            "url": f"{self.conversation_url(participant.conversation_sid)}/Participants/{participant.sid}",
            "last_read_message_index": participant.last_read_message_index,
            "last_read_timestamp": participant.last_read_timestamp,
        }

    def message_media(self, message: Message) -> list[JsonObject] | None:
        """The message's ``media`` list (``null`` when it has none, as Twilio answers)."""
        if not message.media_sids:
            return None
        items = []
        for sid in message.media_sids:
            media = self.media[sid]
            items.append(
                {
                    "category": "media",
                    "sid": media.sid,
                    "size": media.size,
                    "content_type": media.content_type,
                    "filename": media.filename,
                }
            )
        return items

    def render_message(self, message: Message) -> JsonObject:
        url = f"{self.conversation_url(message.conversation_sid)}/Messages/{message.sid}"
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "conversation_sid": message.conversation_sid,
            "body": message.body,
            "media": self.message_media(message),
            "author": message.author,
            "participant_sid": message.participant_sid,
            "attributes": message.attributes,
            "date_created": iso_seconds(message.date_created),
            "date_updated": iso_seconds(message.date_updated),
            "index": message.index,
            # Delivery receipts exist only for SMS/WhatsApp participants; chat-only is null.
            "delivery": None,
            "content_sid": None,
            "url": url,
            "links": {
                "delivery_receipts": f"{url}/Receipts",
                "channel_metadata": f"{url}/ChannelMetadata",
            },
        }

    def render_webhook(self, webhook: ScopedWebhook) -> JsonObject:
        configuration: JsonObject
        if webhook.target == "studio":
            configuration = {"flow_sid": webhook.flow_sid}
            if webhook.filters:
                configuration["filters"] = list(webhook.filters)
        else:
            # The spec's enum for the method is lower-case (get, post), as Twilio answers it.
            configuration = {
                "url": webhook.url,
                "method": webhook.method.lower(),
                "filters": list(webhook.filters),
            }
            if webhook.triggers:
                configuration["triggers"] = list(webhook.triggers)
        if webhook.replay_after is not None:
            configuration["replay_after"] = webhook.replay_after
        return {
            "account_sid": self.account_sid,
            "conversation_sid": webhook.conversation_sid,
            "sid": webhook.sid,
            "target": webhook.target,
            "configuration": configuration,
            "date_created": iso_seconds(webhook.date_created),
            "date_updated": iso_seconds(webhook.date_updated),
            "url": f"{self.conversation_url(webhook.conversation_sid)}/Webhooks/{webhook.sid}",
        }

    def media_url(self, media: MediaRecord) -> str:
        return f"{self.product_url('mcs')}/v1/Services/{media.service_sid}/Media/{media.sid}"

    def render_media(self, media: MediaRecord, temporary_url: str) -> JsonObject:
        url = self.media_url(media)
        return {
            "sid": media.sid,
            "account_sid": self.account_sid,
            "service_sid": media.service_sid,
            "date_created": iso_seconds(media.date_created),
            "date_upload_updated": iso_seconds(media.date_created),
            "date_updated": iso_seconds(media.date_created),
            "links": {"content": f"{url}/Content", "content_direct_temporary": temporary_url},
            "size": media.size,
            "content_type": media.content_type,
            "filename": media.filename,
            "author": media.author,
            "category": "media",
            "message_sid": media.message_sid,
            "channel_sid": media.conversation_sid,
            "url": url,
            "is_multipart_upstream": False,
        }

    def interaction_url(self, sid: str) -> str:
        return f"{self.product_url('flex-api')}/v1/Interactions/{sid}"

    def render_task_properties(self, task: Task) -> JsonObject:
        """The TaskRouter task as the Interactions API reports it under ``routing.properties``."""
        return {
            "sid": task.sid,
            "account_sid": self.account_sid,
            "workspace_sid": task.workspace_sid,
            "workflow_sid": task.workflow_sid,
            "workflow_name": "Assign to Anyone",
            "queue_sid": task.queue_sid,
            "queue_name": "Everyone",
            "task_channel_sid": task.task_channel_sid,
            "task_channel_unique_name": task.task_channel_unique_name,
            "assignment_status": task.assignment_status,
            "attributes": json.dumps(task.attributes),
            "addons": "{}",
            "priority": task.priority,
            "timeout": task.timeout,
            "reason": task.reason or "",
            "age": max(0, int(self.clock.now() - task.date_created)),
            "age_in_queue": max(0, int(self.clock.now() - task.date_created)),
            "date_created": int(task.date_created),
            "date_updated": int(task.date_updated),
            "task_queue_entered_date": int(task.date_created),
            "routing_target": task.worker_sid,
            "assignmentCounter": 0 if task.worker_sid is None else 1,
        }

    def render_interaction(self, interaction: Interaction) -> JsonObject:
        url = self.interaction_url(interaction.sid)
        channel = self.interaction_channels[interaction.channel_sid]
        task = self.tasks[channel.task_sids[0]] if channel.task_sids else None
        return {
            "sid": interaction.sid,
            "channel": {**interaction.channel_request, "sid": interaction.channel_sid},
            "routing": {
                "reservation": None,
                "properties": self.render_task_properties(task) if task else {},
            },
            "interaction_context_sid": interaction.interaction_context_sid,
            "webhook_ttid": interaction.webhook_ttid,
            "url": url,
            "links": {"channels": f"{url}/Channels"},
        }

    def render_interaction_channel(self, channel: InteractionChannel) -> JsonObject:
        url = f"{self.interaction_url(channel.interaction_sid)}/Channels/{channel.sid}"
        return {
            "sid": channel.sid,
            "interaction_sid": channel.interaction_sid,
            "type": channel.type,
            "status": channel.status,
            "error_code": channel.error_code,
            "error_message": channel.error_message,
            "url": url,
            "links": {
                "participants": f"{url}/Participants",
                "invites": f"{url}/Invites",
                "transfers": f"{url}/Transfers",
            },
        }

    def render_task(self, task: Task) -> JsonObject:
        """What the scripted agent's task list shows (not a REST shape)."""
        return {
            "sid": task.sid,
            "assignment_status": task.assignment_status,
            "attributes": copy.deepcopy(task.attributes),
            "interaction_sid": task.interaction_sid,
            "channel_sid": task.channel_sid,
            "conversation_sid": task.conversation_sid,
            "workspace_sid": task.workspace_sid,
            "workflow_sid": task.workflow_sid,
            "task_channel_unique_name": task.task_channel_unique_name,
            "agent": task.agent,
            "agent_identity": task.agent_identity,
            "agent_participant_sid": task.agent_participant_sid,
            "worker_sid": task.worker_sid,
            "reason": task.reason,
            "date_created": iso_seconds(task.date_created),
            "date_updated": iso_seconds(task.date_updated),
        }
