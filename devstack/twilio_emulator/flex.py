"""Flex: the Interactions API, the TaskRouter task it creates, and a scripted agent.

``POST /v1/Interactions`` with a chat ``Channel`` whose ``properties.media_channel_sid`` names a
conversation routes it to agents: Flex creates an interaction channel (``UO``) and a TaskRouter
task (``WT``) carrying the routing attributes. The scripted agent then plays what a person does
in the Flex UI: accept the task (Flex adds the agent to the conversation), type messages (SDK
messages, ``Source=SDK``), and complete the task (Flex removes the agent and closes the
conversation, as Flex Conversations does when a chat task ends).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .conversations import ConversationService
from .errors import TwilioApiError
from .media import MediaStore
from .sids import new_sid
from .state import Conversation, Interaction, InteractionChannel, JsonObject, Task, TwilioState
from .webhooks import EventOrigin

CHANNEL_TYPES = ("voice", "sms", "email", "web", "whatsapp", "chat", "messenger", "gbm")
# Channel types whose media is a Conversation (``media_channel_sid`` = CH...).
CONVERSATION_CHANNEL_TYPES = ("sms", "web", "whatsapp", "chat", "messenger", "gbm")
CHANNEL_UPDATE_STATUSES = ("closed", "inactive", "wrapup")  # "wrapup" is the older documented value
OPEN_TASK_STATUSES = ("pending", "reserved", "assigned", "wrapping")

# A file for the agent to send: (filename, bytes, content_type), or a mapping with "filename",
# "content_type" and "content" (bytes) or "content_base64".
MediaSpec = tuple[str, bytes, str] | Mapping[str, Any]


class AgentActionError(RuntimeError):
    """The scripted agent was asked for something the Flex UI would not allow."""


def agent_identity(agent: str) -> str:
    """The Conversations identity of a scripted agent (``alex`` → ``agent_alex``)."""
    return agent if agent.startswith("agent_") else f"agent_{agent}"


class FlexService:
    def __init__(self, state: TwilioState, conversations: ConversationService, media: MediaStore) -> None:
        self.state = state
        self.conversations = conversations
        self.media = media

    # -- Interactions API ----------------------------------------------------------------------

    def create_interaction(
        self,
        channel: JsonObject,
        routing: JsonObject | None,
        *,
        interaction_context_sid: str | None = None,
        webhook_ttid: str | None = None,
    ) -> Interaction:
        with self.state.lock:
            channel_type = channel.get("type")
            if channel_type not in CHANNEL_TYPES:
                raise TwilioApiError.invalid_parameter(
                    f"Invalid Channel: type must be one of {', '.join(CHANNEL_TYPES)}"
                )
            initiated_by = str(channel.get("initiated_by") or "customer")
            properties = channel.get("properties") or {}
            if not isinstance(properties, dict):
                raise TwilioApiError.invalid_parameter("Invalid Channel: properties must be an object")
            conversation = self._media_conversation(channel_type, properties)
            routing_properties = self._routing_properties(routing)
            now = self.state.clock.now()
            interaction = Interaction(
                sid=new_sid("KD"),
                channel_request=dict(channel),
                routing_request=dict(routing or {}),
                channel_sid=new_sid("UO"),
                interaction_context_sid=interaction_context_sid,
                webhook_ttid=webhook_ttid,
                date_created=now,
            )
            interaction_channel = InteractionChannel(
                sid=interaction.channel_sid,
                interaction_sid=interaction.sid,
                type=channel_type,
                status="active",
                media_channel_sid=conversation.sid if conversation else None,
            )
            task = Task(
                sid=new_sid("WT"),
                workspace_sid=routing_properties["workspace_sid"],
                workflow_sid=routing_properties["workflow_sid"],
                task_channel_unique_name=str(
                    routing_properties.get("task_channel_unique_name") or _default_task_channel(channel_type)
                ),
                attributes=self._task_attributes(
                    routing_properties, interaction, channel_type, initiated_by, conversation
                ),
                interaction_sid=interaction.sid,
                channel_sid=interaction_channel.sid,
                conversation_sid=conversation.sid if conversation else None,
                date_created=now,
                date_updated=now,
                priority=int(routing_properties.get("priority") or 0),
                timeout=int(routing_properties.get("timeout") or 86400),
                task_channel_sid=self.state.chat_task_channel_sid,
            )
            interaction_channel.task_sids.append(task.sid)
            self.state.interactions[interaction.sid] = interaction
            self.state.interaction_channels[interaction_channel.sid] = interaction_channel
            self.state.tasks[task.sid] = task
            return interaction

    def _media_conversation(self, channel_type: str, properties: Mapping[str, Any]) -> Conversation | None:
        if channel_type not in CONVERSATION_CHANNEL_TYPES:
            return None
        sid = properties.get("media_channel_sid")
        if not sid:
            raise TwilioApiError.invalid_parameter(
                "Invalid Channel: properties.media_channel_sid (the conversation SID) is required"
            )
        conversation = self.conversations.conversation(str(sid))
        if conversation.state == "closed":
            raise TwilioApiError.closed_conversation_channel(conversation.sid)
        return conversation

    def _routing_properties(self, routing: JsonObject | None) -> JsonObject:
        properties = (routing or {}).get("properties")
        if not isinstance(properties, dict):
            raise TwilioApiError.invalid_parameter("Invalid Routing: a properties object is required")
        for key, expected in (
            ("workspace_sid", self.state.workspace_sid),
            ("workflow_sid", self.state.workflow_sid),
        ):
            value = properties.get(key)
            if not value:
                raise TwilioApiError.invalid_parameter(f"Invalid Routing: properties.{key} is required")
            if value != expected:
                resource = "Workspaces" if key == "workspace_sid" else "Workflows"
                raise TwilioApiError.not_found(f"/{resource}/{value}")
        task_channel_sid = properties.get("task_channel_sid")
        if task_channel_sid is not None:
            # The emulated workspace has one task channel, "chat" (what Send to Flex names).
            if task_channel_sid != self.state.chat_task_channel_sid:
                raise TwilioApiError.not_found(f"/TaskChannels/{task_channel_sid}")
            properties = {**properties, "task_channel_unique_name": "chat"}
        attributes = properties.get("attributes", {})
        if isinstance(attributes, str):
            try:
                attributes = json.loads(attributes)
            except json.JSONDecodeError as exc:
                raise TwilioApiError.invalid_parameter(
                    "Invalid Routing: attributes is not valid JSON"
                ) from exc
        if not isinstance(attributes, dict):
            raise TwilioApiError.invalid_parameter("Invalid Routing: attributes must be a JSON object")
        return {**properties, "attributes": attributes}

    @staticmethod
    def _task_attributes(
        routing_properties: JsonObject,
        interaction: Interaction,
        channel_type: str,
        initiated_by: str,
        conversation: Conversation | None,
    ) -> JsonObject:
        """The routing attributes, plus what Flex adds to a Conversations task."""
        attributes: JsonObject = dict(routing_properties["attributes"])
        flex_added: JsonObject = {
            "channelType": channel_type,
            "initiatedBy": initiated_by,
            "direction": "inbound" if initiated_by == "customer" else "outbound",
            "flexInteractionSid": interaction.sid,
            "flexInteractionChannelSid": interaction.channel_sid,
        }
        if conversation is not None:
            flex_added["conversationSid"] = conversation.sid
            flex_added["conversations"] = {
                "initiated_by": initiated_by,
                "conversation_id": interaction.sid,
                "media": [{"type": "ChatTranscript", "sid": conversation.sid}],
            }
        for key, value in flex_added.items():
            attributes.setdefault(key, value)
        return attributes

    def interaction(self, sid: str) -> Interaction:
        with self.state.lock:
            found = self.state.interactions.get(sid)
            if found is None:
                raise TwilioApiError.not_found(f"/Interactions/{sid}")
            return found

    def interaction_channel(self, interaction: Interaction, sid: str) -> InteractionChannel:
        with self.state.lock:
            found = self.state.interaction_channels.get(sid)
            if found is None or found.interaction_sid != interaction.sid:
                raise TwilioApiError.not_found(f"/Interactions/{interaction.sid}/Channels/{sid}")
            return found

    def update_channel(
        self, channel: InteractionChannel, status: str, routing: JsonObject | None
    ) -> InteractionChannel:
        """``Status=closed``: end the conversation leg; tasks go to ``wrapping``, or to
        ``completed`` with ``Routing={"status": "closed"}``. ``Status=inactive`` (requires that
        routing) removes the agents but leaves the conversation open. ``wrapup`` (the older
        documented value) behaves like ``closed`` with tasks left wrapping."""
        with self.state.lock:
            routing_status = (routing or {}).get("status")
            if status == "inactive" and routing_status != "closed":
                raise TwilioApiError.invalid_parameter(
                    'Invalid Routing: {"status": "closed"} is required when Status is inactive'
                )
            if routing_status is not None and routing_status not in ("closed", "wrapup", "wrapping"):
                raise TwilioApiError.invalid_parameter("Invalid Routing: status must be closed or wrapup")
            final_task_status = "completed" if routing_status == "closed" else "wrapping"
            for task_sid in channel.task_sids:
                self._end_leg(
                    self.state.tasks[task_sid], final_task_status, close_conversation=status != "inactive"
                )
            channel.status = "inactive" if status == "inactive" else "closed"
            return channel

    def _end_leg(self, task: Task, final_status: str, *, close_conversation: bool) -> None:
        """What Flex does when an agent ends a chat: the agent leaves, the conversation closes."""
        conversation = self.state.conversations.get(task.conversation_sid or "")
        if conversation is not None and conversation.state != "closed":
            participant = conversation.participants.get(task.agent_participant_sid or "")
            if participant is not None:
                self.conversations.remove_participant(
                    conversation, participant, origin=EventOrigin.platform()
                )
            if close_conversation:
                self.conversations.close_conversation(conversation, origin=EventOrigin.platform())
        if task.assignment_status == "pending":
            task.assignment_status = "canceled"  # nobody had accepted it
            task.reason = "Interaction channel closed"
        elif task.assignment_status != "completed":
            task.assignment_status = final_status
            task.reason = "Task completed" if final_status == "completed" else None
        task.date_updated = self.state.clock.now()

    # -- the scripted agent --------------------------------------------------------------------

    def tasks(self, *, include_closed: bool = False) -> list[JsonObject]:
        with self.state.lock:
            return [
                self.state.render_task(task)
                for task in self.state.tasks.values()
                if include_closed or task.assignment_status in OPEN_TASK_STATUSES
            ]

    def task(self, task_sid: str) -> Task:
        with self.state.lock:
            found = self.state.tasks.get(task_sid)
            if found is None:
                raise AgentActionError(f"no task {task_sid}")
            return found

    def accept(self, task_sid: str, agent: str = "alex", friendly_name: str = "Alex") -> JsonObject:
        """Accept a pending task: Flex adds the agent to the conversation (``onParticipantAdded``)."""
        with self.state.lock:
            task = self.task(task_sid)
            if task.assignment_status != "pending":
                raise AgentActionError(f"task {task_sid} is {task.assignment_status}, not pending")
            identity = agent_identity(agent)
            if task.conversation_sid is not None:
                conversation = self.conversations.conversation(task.conversation_sid)
                if conversation.state == "closed":
                    raise AgentActionError(f"conversation {conversation.sid} is closed")
                participant = conversation.participant_by_identity(identity)
                if participant is None:
                    participant = self.conversations.add_participant(
                        conversation,
                        origin=EventOrigin.sdk(identity),
                        identity=identity,
                        attributes=json.dumps({"friendly_name": friendly_name}),
                    )
                task.agent_participant_sid = participant.sid
            task.assignment_status = "assigned"
            task.agent = agent
            task.agent_identity = identity
            task.worker_sid = new_sid("WK")
            task.reservation_sid = new_sid("WR")
            task.date_updated = self.state.clock.now()
            return self.state.render_task(task)

    def agent_say(
        self,
        target: str,
        body: str | None,
        *,
        agent: str | None = None,
        media: Sequence[MediaSpec] | None = None,
    ) -> JsonObject:
        """The agent types a message (and attaches files): an SDK message, ``Source=SDK``.

        ``target`` is a task SID (``WT...``) or a conversation SID (``CH...``); ``agent`` defaults
        to the task's agent, or to the only agent in the conversation."""
        with self.state.lock:
            conversation, identity = self._agent_in_conversation(target, agent)
            media_sids = [self.media.add(*_decode_media(spec), author=identity).sid for spec in (media or [])]
            message = self.conversations.add_message(
                conversation,
                origin=EventOrigin.sdk(identity),
                author=identity,
                body=body,
                media_sids=media_sids,
            )
            return self.state.render_message(message)

    def _agent_in_conversation(self, target: str, agent: str | None) -> tuple[Conversation, str]:
        if target.startswith("WT"):
            task = self.task(target)
            if task.conversation_sid is None:
                raise AgentActionError(f"task {target} has no conversation")
            conversation = self.conversations.conversation(task.conversation_sid)
            identity = agent_identity(agent) if agent else task.agent_identity
        else:
            conversation = self.conversations.conversation(target)
            if agent:
                identity = agent_identity(agent)
            else:
                agents = [
                    p.identity
                    for p in conversation.participants.values()
                    if p.identity and p.identity.startswith("agent_")
                ]
                identity = agents[0] if len(agents) == 1 else None
        if identity is None or conversation.participant_by_identity(identity) is None:
            raise AgentActionError(f"no agent of {target} is in conversation {conversation.sid}")
        if conversation.state == "closed":
            raise AgentActionError(f"conversation {conversation.sid} is closed")
        return conversation, identity

    def complete(self, task_sid: str) -> JsonObject:
        """End the chat and complete the task, as Flex does: the agent is removed
        (``onParticipantRemoved``), the conversation closes (``onConversationStateUpdated``),
        the interaction channel becomes ``closed`` and the task ``completed``."""
        with self.state.lock:
            task = self.task(task_sid)
            if task.assignment_status not in ("assigned", "wrapping"):
                raise AgentActionError(f"task {task_sid} is {task.assignment_status}; accept it first")
            self._end_leg(task, "completed", close_conversation=True)
            channel = self.state.interaction_channels[task.channel_sid]
            if all(
                self.state.tasks[sid].assignment_status in ("completed", "canceled")
                for sid in channel.task_sids
            ):
                channel.status = "closed"
            return self.state.render_task(task)

    def transfer(self, task_sid: str) -> JsonObject:
        """A cold transfer back to the queue, as Flex does it for a chat: the agent leaves the
        conversation (``onParticipantRemoved``) and their task completes, the conversation stays
        open, and a new pending task for it, with the same attributes, waits for the next agent.
        Returns the new task."""
        with self.state.lock:
            task = self.task(task_sid)
            if task.assignment_status != "assigned":
                raise AgentActionError(f"task {task_sid} is {task.assignment_status}; accept it first")
            self._end_leg(task, "completed", close_conversation=False)
            task.reason = "Task transferred to the queue"
            now = self.state.clock.now()
            queued = dataclasses.replace(
                task,
                sid=new_sid("WT"),
                attributes=copy.deepcopy(task.attributes),
                date_created=now,
                date_updated=now,
                assignment_status="pending",
                reason=None,
                agent=None,
                agent_identity=None,
                agent_participant_sid=None,
                worker_sid=None,
                reservation_sid=None,
            )
            self.state.tasks[queued.sid] = queued
            self.state.interaction_channels[task.channel_sid].task_sids.append(queued.sid)
            return self.state.render_task(queued)


def _default_task_channel(channel_type: str) -> str:
    return {"voice": "voice", "sms": "sms", "chat": "chat", "web": "chat", "email": "email"}.get(
        channel_type, "default"
    )


def _decode_media(spec: MediaSpec) -> tuple[bytes, str, str | None]:
    """``(data, content_type, filename)`` for :meth:`MediaStore.add`."""
    if isinstance(spec, tuple):
        filename, data, content_type = spec
        return data, content_type, filename
    content = spec.get("content")
    if content is None:
        content = base64.b64decode(str(spec.get("content_base64", "")), validate=True)
    return bytes(content), str(spec.get("content_type") or "application/octet-stream"), spec.get("filename")
