"""A member's support session: where the chat happens in Discord, the Twilio conversation behind
it, and who is handling it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class SessionMode(StrEnum):
    ASSISTANT = "assistant"  # the assistant (Studio) answers
    QUEUED = "queued"  # waiting for an agent
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

    def queued(self, case_number: int) -> SupportSession:
        return replace(self, mode=SessionMode.QUEUED, case_number=case_number)

    def with_interaction(self, interaction_sid: str, channel_sid: str) -> SupportSession:
        return replace(self, interaction_sid=interaction_sid, interaction_channel_sid=channel_sid)

    def with_agent(self, agent_name: str) -> SupportSession:
        return replace(self, mode=SessionMode.AGENT, agent_name=agent_name)

    @property
    def webhooks_run(self) -> bool:
        """Member messages trigger the conversation's webhooks (Studio) until an agent has the
        chat; after that Studio must not run again."""
        return self.mode is not SessionMode.AGENT
