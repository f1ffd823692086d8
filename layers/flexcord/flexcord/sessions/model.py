"""A member's support session: where the chat happens in Discord, the Twilio conversation behind
it, and who is handling it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

#: The author of the messages Flexcord itself adds to a conversation (notes for the agent, the
#: assistant's answers): one name, so the worker and ChatbotFunction write as the same author.
FLEXCORD_AUTHOR = "flexcord"


class SessionMode(StrEnum):
    ASSISTANT = "assistant"  # the assistant (Studio) answers
    QUEUED = "queued"  # waiting for an agent (see ``SupportSession.handed_to_flex``)
    AGENT = "agent"  # an agent has the chat


class ChatPlace(StrEnum):
    DM = "dm"
    THREAD = "thread"  # a private thread in the support channel, when the member's DMs are closed


@dataclass(frozen=True)
class SupportSession:
    user_id: str
    display_name: str
    locale: str
    guild_id: str | None
    channel_id: str
    place: ChatPlace
    conversation_sid: str
    #: The member's Twilio identity: opaque, so no Discord name or id reaches Twilio.
    member_identity: str
    mode: SessionMode
    opened_at: str
    case_number: int | None = None
    interaction_sid: str | None = None
    interaction_channel_sid: str | None = None
    agent_name: str | None = None
    #: Questions in a row the assistant could not answer (two send the chat to a human).
    assistant_misses: int = 0
    #: Flex has been asked for an agent (the Interactions API answered, or the Studio flow was
    #: told). A QUEUED session without it is a hand-off still to do: a retried job, or the
    #: member's next "Talk to a human", finishes it instead of answering "already on it".
    handed_to_flex: bool = False
    #: The Twilio ``Index`` (from 0) of the last agent message relayed to the member, -1 before
    #: the first: a redelivery of that job is skipped. Not "everything below was relayed": Twilio
    #: may call the webhook for two messages in either order, and they are queued as they come.
    relayed_through: int = -1
    #: The Discord id of the member's last interaction (``/reply`` or the Reply form) whose
    #: message was relayed to the conversation, 0 before the first: a redelivery of that job
    #: (a lost delete brings a job back before any later job of the member) is skipped. Not an
    #: "everything below was relayed" mark: two replies may be queued out of their ids' order.
    member_relayed_through: int = 0
    #: The Discord id of the interaction that opened the chat, 0 if unknown: a member's message
    #: with a lower id belongs to an earlier chat (a redelivery that outlived it).
    opened_by_interaction: int = 0

    def queued(self, case_number: int) -> SupportSession:
        return replace(self, mode=SessionMode.QUEUED, case_number=case_number)

    def handed_off(self) -> SupportSession:
        return replace(self, handed_to_flex=True)

    def with_interaction(self, interaction_sid: str, channel_sid: str) -> SupportSession:
        return replace(
            self, interaction_sid=interaction_sid, interaction_channel_sid=channel_sid, handed_to_flex=True
        )

    @property
    def handoff_pending(self) -> bool:
        """Queued for an agent, but Flex was never reached (an earlier attempt failed)."""
        return self.mode is SessionMode.QUEUED and not self.handed_to_flex

    def with_agent(self, agent_name: str) -> SupportSession:
        return replace(self, mode=SessionMode.AGENT, agent_name=agent_name)

    @property
    def webhooks_run(self) -> bool:
        """Member messages trigger the conversation's webhooks (Studio) until an agent has the
        chat; after that Studio must not run again."""
        return self.mode is not SessionMode.AGENT
