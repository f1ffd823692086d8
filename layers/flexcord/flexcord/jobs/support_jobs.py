"""The worker side of the support chat: open it, relay the member's messages, hand it to an agent,
end it, and act on the Twilio conversation's events (agent joined, agent messages, closed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.discord import (
    CannotMessageUser,
    DiscordApiError,
    DiscordClient,
    FileUpload,
)
from flexcord.adapters.discord.snowflake import snowflake_id
from flexcord.adapters.twilio import FlexHandoff, MediaTooLarge, TwilioError, TwilioGateway
from flexcord.assistant.decide import Decision, KnowledgeBase, Suggestion, decide
from flexcord.cases import CaseDraft, CaseKind, CaseService, CaseStatus, Reporter
from flexcord.cases.model import ATTACHMENT_MAX_BYTES, CaseSection
from flexcord.cases.service import Actor, utc_now_iso
from flexcord.config import DiscordSettings, TwilioSettings
from flexcord.interactions.custom_ids import (
    END_CHAT_BUTTON,
    HELPED_BUTTON,
    LEAVE_MESSAGE_BUTTON,
    REPLY_BUTTON,
    TALK_TO_HUMAN_BUTTON,
)
from flexcord.jobs.chat_followup import AGENT_FALLBACK_NAME, closing_components, member_identity
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.notify import tell_member
from flexcord.jobs.presentation import truncate
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory
from flexcord.sessions.handoff import after_hours_notice, record_handoff, task_attributes
from flexcord.sessions.model import FLEXCORD_AUTHOR, ChatPlace, SessionMode, SupportSession
from flexcord.sessions.repository import SessionRepository

__all__ = ["AGENT_FALLBACK_NAME", "FLEXCORD_AUTHOR", "SupportChat", "member_identity"]

EVENTS_PATH = "/twilio/conversation-events"
NO_SESSION_HINT = "You have no open support chat. Use `/helpme` to start one."
#: What one Discord message may carry: 10 files, and a bot's upload limit (10 MiB, for the
#: whole request) without server boosts.
DISCORD_MAX_FILES = 10
DISCORD_UPLOAD_MAX_BYTES = 10 * 1024 * 1024

CHAT_BUTTONS = [
    {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "Reply", "custom_id": REPLY_BUTTON},
            {"type": 2, "style": 2, "label": "Talk to a human", "custom_id": TALK_TO_HUMAN_BUTTON},
            {"type": 2, "style": 4, "label": "End chat", "custom_id": END_CHAT_BUTTON},
        ],
    }
]


LEAVE_MESSAGE_ROW = {
    "type": 1,
    "components": [{"type": 2, "style": 1, "label": "Leave a message", "custom_id": LEAVE_MESSAGE_BUTTON}],
}
LEFT_MESSAGE_TITLE = "Message left after hours"
RATE_PROMPT = "How did we do? Rate this chat, add a comment, or get its transcript:"


def wall_clock() -> datetime:
    """The current time, aware (UTC). Tests inject their own clock instead."""
    return datetime.now(UTC)


class SupportChat:
    def __init__(
        self,
        *,
        sessions: SessionRepository,
        cases: CaseService,
        discord: DiscordClient,
        twilio: TwilioGateway,
        discord_settings: DiscordSettings,
        twilio_settings: TwilioSettings,
        knowledge_base: KnowledgeBase | None = None,
        clock: Callable[[], str] = utc_now_iso,
        servers: ServerDirectory | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """``servers`` gives each server's support hours (None: always open); ``now`` is the
        clock they are checked against (an aware datetime; by default the wall clock)."""
        self._servers = servers
        self._now = now
        self._knowledge_base = knowledge_base
        self._sessions = sessions
        self._cases = cases
        self._discord = discord
        self._twilio = twilio
        self._discord_settings = discord_settings
        self._twilio_settings = twilio_settings
        self._clock = clock

    # -- member actions -------------------------------------------------------------------------

    def open_chat(self, job: Job) -> dict[str, Any]:
        """/helpme [question]: open the member's chat, or point them back to the open one."""
        member = job.interaction
        session = self._sessions.for_member(member.user_id)
        if session is not None:
            tell_member(
                self._discord,
                member,
                content=f"Your support chat is already open in <#{session.channel_id}>.",
            )
        else:
            session = self._open(member)
            tell_member(
                self._discord, member, content=f"✅ Your support chat is open in <#{session.channel_id}>."
            )
        question = str(job.payload.get("question") or "").strip()
        if question:
            self._relay(session, member, question, attachment=None, retry=job.is_retry)
        return {"conversation": session.conversation_sid, "channel": session.channel_id}

    def member_message(self, job: Job) -> dict[str, Any]:
        """/reply or the Reply form: the member's next message."""
        member = job.interaction
        session = self._sessions.for_member(member.user_id)
        if session is None:
            tell_member(self._discord, member, content=NO_SESSION_HINT)
            return {"relayed": False}
        snowflake = snowflake_id(member.interaction_id)
        if _member_message_relayed(session, snowflake):
            return {"relayed": False, "relayed_earlier": True}
        unattached = self._relay(
            session,
            member,
            str(job.payload.get("text") or ""),
            attachment=job.payload.get("attachment"),
            retry=job.is_retry,
        )
        note = " Your file could not be attached, so it was sent as a link." if unattached else ""
        tell_member(self._discord, member, content=f"✓ Sent.{note}")
        if snowflake is not None:
            # Last, never before the steps it records: a mark without them would lose the message.
            self._sessions.record_member_relayed(session, snowflake)
        return {"relayed": True}

    def request_agent(self, job: Job) -> dict[str, Any]:
        """Talk to a human (button or /agent): open a case and hand the chat to Flex."""
        member = job.interaction
        session = self._sessions.for_member(member.user_id)
        if session is None:
            tell_member(self._discord, member, content=NO_SESSION_HINT)
            return {"queued": False}
        if job.is_retry and self._began_hand_off(session, member.interaction_id):
            # This request's earlier attempt reached Flex but failed before the member was told.
            case = self._hand_off(session, source_id=member.interaction_id, asked_by_member=True, retry=True)
            tell_member(self._discord, member, content=_queued_notice(case))
            return {"queued": True, "case": case}
        if session.mode is SessionMode.AGENT or (
            session.mode is SessionMode.QUEUED and session.handed_to_flex
        ):
            waiting = "an agent has your chat" if session.mode is SessionMode.AGENT else "you're in the queue"
            tell_member(
                self._discord, member, content=f"Already on it: {waiting} (case #{session.case_number})."
            )
            return {"queued": False, "case": session.case_number}
        back = self._back_message(session) if session.mode is SessionMode.ASSISTANT else None
        if back is not None:
            # Outside the server's hours: no hand-off; the assistant keeps the chat.
            metrics.add_metric(name="AfterHoursHandoffDeclined", unit="Count", value=1)
            tell_member(
                self._discord, member, content=after_hours_notice(back), components=[LEAVE_MESSAGE_ROW]
            )
            return {"queued": False, "after_hours": True}
        # Still with the assistant, or queued by an attempt that never reached Flex: do it now.
        case = self._hand_off(
            session, source_id=member.interaction_id, asked_by_member=True, retry=job.is_retry
        )
        tell_member(self._discord, member, content=_queued_notice(case))
        return {"queued": True, "case": case}

    def end_chat(self, job: Job) -> dict[str, Any]:
        """/endchat or End chat (confirmed): close the conversation and end the session."""
        member = job.interaction
        session = self._sessions.for_member(member.user_id)
        if session is None:
            tell_member(self._discord, member, content=NO_SESSION_HINT)
            return {"ended": False}
        self._close(
            session,
            actor_id=member.user_id,
            note="ended by the member",
            notice="👋 You ended the chat. `/helpme` opens a new one any time.",
        )
        tell_member(self._discord, member, content="Your support chat is closed.")
        return {"ended": True}

    def _hand_off(
        self, session: SupportSession, *, source_id: str, asked_by_member: bool, retry: bool
    ) -> int:
        """Open the support case and send the chat to Flex; returns the case number.

        On the Studio path, a member's explicit request is passed to the flow (a marked message
        that runs its webhook) and the flow sends the chat to Flex; when the flow itself decided
        (the assistant could not help), Flexcord only opens the case. On the direct path Flexcord
        asks Flex itself with the Interactions API.

        The session is queued first (ChatbotFunction must see it when the flow asks), but it is
        marked ``handed_to_flex`` only once Flex has been asked: a failure in between leaves a
        queued session that the retry, or the member's next request, hands off for real.
        """
        session, case = record_handoff(
            session, cases=self._cases, sessions=self._sessions, source_id=source_id
        )
        if not session.handed_to_flex:
            attributes = task_attributes(session, self._cases)
            if self._twilio_settings.studio_flow_sid:
                self._twilio.update_attributes(session.conversation_sid, {"handoff": True, **attributes})
                if asked_by_member:
                    self._twilio.add_message(
                        session.conversation_sid,
                        author=FLEXCORD_AUTHOR,
                        body="The member asked to talk to a human.",
                        attributes={"handoff": True},
                        trigger_webhooks=True,
                        key=f"handoff:{source_id}",
                        may_exist=retry,
                    )
                session = session.handed_off()
            elif session.interaction_sid is None:
                handoff = self._hand_off_directly(session, attributes)
                session = session.with_interaction(handoff.interaction_sid, handoff.channel_sid)
            else:
                session = session.handed_off()
            self._sessions.save(session)
            metrics.add_metric(name="HandedOff", unit="Count", value=1)
        self._post(session.channel_id, _queued_notice(case.number), nonce=f"queued-{case.number}")
        return case.number

    # -- the assistant --------------------------------------------------------------------------

    def _assist(
        self, session: SupportSession, text: str, *, message_key: str, retry: bool
    ) -> Decision | None:
        """The direct path's assistant: answer from the knowledge base in the chat, record the
        answer in the conversation for the agent, and hand off when it cannot help. (On the
        Studio path the flow calls ChatbotFunction instead.)"""
        if self._knowledge_base is None or self._twilio_settings.studio_flow_sid:
            return None
        if session.mode is not SessionMode.ASSISTANT:
            if retry and self._began_hand_off(session, message_key):
                # The miss that sent the chat to a human, retried: the assistant is not asked
                # again, but what that attempt left undone (Flex, the notice) is finished.
                self._hand_off(session, source_id=message_key, asked_by_member=False, retry=True)
            return None
        decision = decide(
            text, knowledge_base=self._knowledge_base, misses=session.assistant_misses, locale=session.locale
        )
        back = self._back_message(session) if decision.handoff else None
        if back is not None:
            # The assistant would hand off, but no agent is in: it says when they are back.
            decision = replace(decision, handoff=False, reply=after_hours_notice(back))
            metrics.add_metric(name="AfterHoursHandoffDeclined", unit="Count", value=1)
        self.deliver_answer(
            session, decision, message_key=message_key, retry=retry, offer_message=back is not None
        )
        if decision.handoff:
            self._hand_off(session, source_id=message_key, asked_by_member=False, retry=retry)
        else:
            self._sessions.save(replace(session, assistant_misses=decision.misses))
        return decision

    def _began_hand_off(self, session: SupportSession, source_id: str) -> bool:
        """Whether ``source_id`` (a member's request or message) opened the case of this queued
        chat: its retry then finishes the hand-off (Flex, the member's notice) instead of
        answering as if someone else had queued the chat."""
        if session.mode is not SessionMode.QUEUED or session.case_number is None:
            return False
        case = self._cases.find(session.guild_id, session.case_number)
        return case is not None and case.source_id == source_id

    def deliver_answer(
        self,
        session: SupportSession,
        decision: Decision,
        *,
        message_key: str,
        retry: bool = False,
        offer_message: bool = False,
    ) -> None:
        """Show the assistant's answer in the member's chat and add it to the conversation
        without the webhook header (the transcript for the agent; Studio must not run again).
        ``offer_message``: outside support hours, with a "Leave a message" button."""
        embeds, components = answer_view(decision)
        if offer_message:
            components = [*components, LEAVE_MESSAGE_ROW]
        self._post(
            session.channel_id,
            decision.reply,
            embeds=embeds,
            components=components,
            nonce=_nonce("bot", message_key),
        )
        lines = [decision.reply, *(f"- {a.title}: {a.url}" for a in decision.articles)]
        self._twilio.add_message(
            session.conversation_sid,
            author=FLEXCORD_AUTHOR,
            body="\n".join(lines),
            attributes={"assistant": True, "articles": [a.stem for a in decision.articles]},
            trigger_webhooks=False,
            key=f"assistant:{message_key}",
            may_exist=retry,
        )
        metrics.add_metric(
            name="AssistantAnswered" if decision.answered else "AssistantAbstained", unit="Count", value=1
        )

    def assistant_reply(self, job: Job) -> dict[str, Any]:
        """The Studio path: ChatbotFunction decided (and, for a hand-off, already opened the case
        so the flow could give it to Flex); show the answer in the chat and record it."""
        session = self._sessions.for_conversation(str(job.payload["conversation_sid"]))
        if session is None or session.mode is SessionMode.AGENT:
            return {"shown": False}
        decision = decision_from_payload(job.payload["decision"])
        self.deliver_answer(
            session,
            decision,
            message_key=job.key,
            retry=job.is_retry,
            offer_message=bool(job.payload.get("after_hours")),
        )
        if decision.handoff:
            self._hand_off(session, source_id=job.key, asked_by_member=False, retry=job.is_retry)
        elif session.mode is SessionMode.ASSISTANT:
            self._sessions.save(replace(session, assistant_misses=decision.misses))
        return {"shown": True, "handoff": decision.handoff}

    def helped(self, job: Job) -> dict[str, Any]:
        """ "This helped" under an answer: counted as a deflection."""
        member = job.interaction
        metrics.add_metric(name="AssistantDeflected", unit="Count", value=1)
        session = self._sessions.for_member(member.user_id)
        if session is not None:
            self._twilio.add_message(
                session.conversation_sid,
                author=FLEXCORD_AUTHOR,
                body="The member said the suggested articles helped.",
                attributes={"assistant": True, "helped": True},
                trigger_webhooks=False,
                key=f"helped:{member.interaction_id}",
                may_exist=job.is_retry,
            )
        tell_member(
            self._discord, member, content="Glad that helped! `/endchat` closes the chat when you're done."
        )
        return {"deflected": True}

    def leave_message(self, job: Job) -> dict[str, Any]:
        """The "Leave a message" form, outside support hours: a support case for staff, in the
        chat's server (the member's server when the chat has ended). One case per submission,
        even when the job is delivered twice (the case is keyed by the interaction)."""
        member = job.interaction
        text = str(job.payload.get("text") or "").strip()
        if not text:
            tell_member(self._discord, member, content="Your message is empty; nothing was filed.")
            return {"filed": False}
        session = self._sessions.for_member(member.user_id)
        case = self._cases.open_case(
            CaseDraft(
                kind=CaseKind.SUPPORT,
                title=LEFT_MESSAGE_TITLE,
                sections=(CaseSection("Message", text),),
                reporter=Reporter(member.user_id, member.username, member.display_name),
                guild_id=session.guild_id if session else member.guild_id,
                channel_id=session.channel_id if session else member.channel_id,
            ),
            source_id=job.key,
        )
        metrics.add_metric(name="AfterHoursMessagesLeft", unit="Count", value=1)
        tell_member(
            self._discord,
            member,
            content=f"📝 Thanks! Your message is case #{case.number}. Our team will pick it up when "
            f"they're back; `/case show number:{case.number}` shows where it stands.",
        )
        return {"filed": True, "case": case.number}

    def _back_message(self, session: SupportSession) -> str | None:
        """When agents are back, while the chat's server is outside its support hours (holidays
        included); None while they are in."""
        if self._servers is None:
            return None
        hours = self._servers.support_hours_of(session.guild_id)
        return hours.back_message(self._now() if self._now else wall_clock())

    # -- Twilio conversation events -------------------------------------------------------------

    def conversation_event(self, job: Job) -> dict[str, Any]:
        event = job.payload
        session = self._sessions.for_conversation(str(event.get("ConversationSid", "")))
        if session is None:
            logger.info(
                "event for a conversation with no open session; ignored",
                extra={
                    "event_type": event.get("EventType"),
                    "conversation_sid": event.get("ConversationSid"),
                },
            )
            return {"acted": False}
        handlers = {
            "onMessageAdded": self._message_added,
            "onParticipantAdded": self._participant_added,
            "onConversationStateUpdated": self._state_updated,
        }
        handler = handlers.get(str(event.get("EventType")))
        if handler is None:
            return {"acted": False}
        return handler(session, event)

    @staticmethod
    def deduplicates_itself(job: Job) -> bool:
        """A relayed message, either way: run without an idempotency record (two writes less per
        message) because the relay deduplicates itself, step by step and as a whole.

        - An agent's message (onMessageAdded): SQS FIFO drops a repeated webhook delivery for
          five minutes, Discord's enforced nonce drops a repeated post for a few minutes
          (atomically, so two deliveries at once post once), and the session's
          ``relayed_through`` mark skips a message redelivered later still.
        - A member's message (``/reply``, the Reply form): the member's jobs run one at a time in
          their FIFO group; on a retry the Twilio message is looked up by its key before it is
          added, the echo in the chat carries a nonce and "Sent" is an edit, and the session's
          ``member_relayed_through`` mark skips a message redelivered once it is all done."""
        return job.kind is JobKind.MEMBER_MESSAGE or SupportChat.is_agent_message_relay(job)

    @staticmethod
    def is_agent_message_relay(job: Job) -> bool:
        """An agent's message (onMessageAdded): one post and its mark."""
        return job.kind is JobKind.CONVERSATION_EVENT and job.payload.get("EventType") == "onMessageAdded"

    def relayed_earlier(self, job: Job) -> bool:
        """Whether this relay job was done by an earlier delivery, as far as the session's mark
        tells (a message relayed but not yet marked reads as not relayed)."""
        if job.kind is JobKind.MEMBER_MESSAGE:
            session = self._sessions.for_member(job.interaction.user_id)
            snowflake = snowflake_id(job.interaction.interaction_id)
            return session is not None and _member_message_relayed(session, snowflake)
        index = _message_index(job.payload)
        session = self._sessions.for_conversation(str(job.payload.get("ConversationSid", "")))
        return index is not None and session is not None and index == session.relayed_through

    def _message_added(self, session: SupportSession, event: dict[str, Any]) -> dict[str, Any]:
        author = str(event.get("Author", ""))
        if author in (session.member_identity, FLEXCORD_AUTHOR):
            return {"acted": False}  # our own messages echoing back
        index = _message_index(event)
        if index is not None and index == session.relayed_through:
            return {"acted": False, "relayed_earlier": True}
        name = session.agent_name or self._agent_name(author, event)
        body = str(event.get("Body") or "")
        files, missing = self._agent_media(event)
        content = f"**{name}:** {body}" if body else f"**{name}** sent a file."
        nonce = _nonce("msg", str(event.get("MessageSid", "")))
        try:
            self._post(session.channel_id, _with_notes(content, missing), files=files, nonce=nonce)
        except DiscordApiError as refusal:
            if not files:
                raise
            # Discord refused the files (too large, too many, a type it rejects): the words still
            # go, and the member learns which files did not.
            logger.warning("agent files refused by Discord; sent without them", extra={"code": refusal.code})
            missing += [f"{f.filename} (Discord refused it)" for f in files]
            self._post(session.channel_id, _with_notes(content, missing), nonce=_nonce("msgf", nonce))
        if index is not None:
            # After the post, never before it: a mark without the message would lose it.
            self._sessions.record_relayed(session.conversation_sid, index)
        if missing:
            metrics.add_metric(name="AgentMediaNotCopied", unit="Count", value=len(missing))
        metrics.add_metric(name="AgentMessagesRelayed", unit="Count", value=1)
        return {"acted": True}

    def _participant_added(self, session: SupportSession, event: dict[str, Any]) -> dict[str, Any]:
        identity = str(event.get("Identity") or "")
        if not identity or identity in (session.member_identity, FLEXCORD_AUTHOR):
            return {"acted": False}
        name = self._agent_name(identity, event)
        self._sessions.save(session.with_agent(name))
        if session.case_number is not None:
            self._cases.move(
                session.guild_id,
                session.case_number,
                CaseStatus.IN_PROGRESS,
                actor=Actor(identity, name),
                note=f"{name} joined",
            )
        self._post(session.channel_id, f"🎧 **{name}** joined the chat.", nonce=_nonce("join", identity))
        return {"acted": True}

    def _state_updated(self, session: SupportSession, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("StateTo") != "closed":
            return {"acted": False}
        if str(event.get("Reason") or "").upper() != "TIMER":
            # Closed in Flex: the agent completed the task.
            suffix = f" Case #{session.case_number} is resolved." if session.case_number else ""
            self._close(
                session,
                actor_id=session.agent_name or "flex",
                note="closed in Flex",
                notice=f"✅ The chat has ended.{suffix} Thanks for reaching out!",
                conversation_closed=True,
            )
            return {"acted": True}
        # Twilio's inactivity timer closed it. Flex does not close its side for a timer, and a
        # chat that no agent ever took was not resolved: its case stays open for staff.
        self._close_interaction(session)
        if session.mode is SessionMode.AGENT:
            self._close(
                session,
                actor_id="flexcord",
                note="closed after inactivity",
                notice="⌛ The chat was closed after a period of inactivity. `/helpme` opens a new one.",
                conversation_closed=True,
            )
            return {"acted": True, "expired": True}
        if session.case_number is not None:
            self._cases.note_once(
                session.guild_id,
                session.case_number,
                "chat_expired",
                note="no agent joined before it timed out",
            )
        waiting = (
            f" Case #{session.case_number} stays open: our team will follow up."
            if session.case_number
            else ""
        )
        self._post(
            session.channel_id,
            f"⌛ Your chat expired before an agent could join.{waiting} `/helpme` opens a new one.",
            nonce=_nonce("end", session.conversation_sid),
        )
        self._sessions.end(session)
        return {"acted": True, "expired": True}

    def report_undelivered(self, job: Job) -> bool:
        """Tell the member (and the agent, in the conversation) that a job nobody in Discord
        asked for, an agent's message or an event, could not be delivered. False when there
        is no open chat to tell."""
        payload = job.payload
        conversation_sid = str(payload.get("ConversationSid") or payload.get("conversation_sid") or "")
        session = self._sessions.for_conversation(conversation_sid) if conversation_sid else None
        if session is None:
            return False
        what = "A message from the agent" if job.payload.get("EventType") == "onMessageAdded" else "An update"
        self._post(
            session.channel_id,
            f"⚠️ {what} could not be delivered here. Our team has been alerted.",
            nonce=_nonce("lost", job.key),
        )
        if job.payload.get("EventType") == "onMessageAdded":
            self._twilio.add_message(
                session.conversation_sid,
                author=FLEXCORD_AUTHOR,
                body="⚠️ Flexcord could not deliver your last message to the member in Discord.",
                attributes={"undelivered": job.payload.get("MessageSid")},
                trigger_webhooks=False,
                key=f"lost:{job.key}",
                may_exist=True,
            )
        return True

    # -- helpers --------------------------------------------------------------------------------

    def _open(self, member: InteractionContext) -> SupportSession:
        channel_id, place = self._open_chat_place(member)
        # Nothing that identifies the member: Flexcord finds the member of a conversation in its
        # own table, so Twilio gets only what the agent's side uses (see README, "Privacy").
        conversation_sid = self._twilio.open_conversation(
            unique_name=f"discord-{member.interaction_id}",
            friendly_name="Discord support chat",
            attributes={"source": "discord", "locale": member.locale},
            inactive_after="PT1H",
            close_after="P1D",
        )
        identity = member_identity(conversation_sid)
        self._twilio.add_participant(conversation_sid, identity=identity, attributes={"role": "member"})
        if self._twilio_settings.studio_flow_sid:
            self._twilio.add_studio_webhook(conversation_sid, flow_sid=self._twilio_settings.studio_flow_sid)
        if self._twilio_settings.public_base_url:
            self._twilio.add_event_webhook(
                conversation_sid, url=self._twilio_settings.public_base_url + EVENTS_PATH
            )
        else:
            logger.warning("PUBLIC_BASE_URL is not set: agent replies will not reach Discord")
        opened = self._sessions.open(
            SupportSession(
                user_id=member.user_id,
                display_name=member.display_name,
                locale=member.locale,
                guild_id=member.guild_id,
                channel_id=channel_id,
                place=place,
                conversation_sid=conversation_sid,
                member_identity=identity,
                mode=SessionMode.ASSISTANT,
                opened_at=self._clock(),
                opened_by_interaction=snowflake_id(member.interaction_id) or 0,
            )
        )
        if opened.conversation_sid != conversation_sid:
            self._twilio.close_conversation(conversation_sid)  # another /helpme won the race
        else:
            metrics.add_metric(name="ChatsOpened", unit="Count", value=1)
        return opened

    def _open_chat_place(self, member: InteractionContext) -> tuple[str, ChatPlace]:
        """The member's DM, or a private thread in the support channel when their DMs are closed
        (Discord only says so when a message is sent, so the welcome message is the test)."""
        welcome = (
            f"👋 Hi {member.display_name}! This is your support chat. Tell us what's going on with "
            "**Reply** or `/reply`; **Talk to a human** brings in an agent."
        )
        dm = self._discord.open_dm(member.user_id)
        try:
            self._post(
                str(dm["id"]), welcome, components=CHAT_BUTTONS, nonce=_nonce("hi", member.interaction_id)
            )
            return str(dm["id"]), ChatPlace.DM
        except CannotMessageUser:
            # The support channel of the server they asked from (set with /setup; the template's
            # DiscordSupportChannelId for the configured server, and for the bot's DMs).
            support_channel = (
                self._servers.settings_for(member.guild_id).support_channel_id
                if self._servers is not None
                else self._discord_settings.support_channel_id
            )
            if not support_channel:
                raise
        thread = self._discord.create_private_thread(
            support_channel,
            name=f"Support: {member.display_name}",
            key=_nonce("thread", member.interaction_id),
        )
        self._discord.add_thread_member(str(thread["id"]), member.user_id)
        self._post(
            str(thread["id"]), welcome, components=CHAT_BUTTONS, nonce=_nonce("hi", member.interaction_id)
        )
        return str(thread["id"]), ChatPlace.THREAD

    def _relay(
        self,
        session: SupportSession,
        member: InteractionContext,
        text: str,
        *,
        attachment: dict[str, Any] | None,
        retry: bool,
    ) -> bool:
        """Add the member's message to the conversation and echo it in their chat. Returns True
        when their file could not be attached and went as a link instead."""
        media_sid = None
        unattached = False
        if attachment:
            media_sid = self._attach(attachment)
            if media_sid is None:
                unattached = True
                text = f"{text}\n{attachment.get('url', '')}".strip()
        self._twilio.add_message(
            session.conversation_sid,
            author=session.member_identity,
            body=text,
            media_sid=media_sid,
            # While the assistant (Studio) has the chat, the message must run its webhook; once an
            # agent has it, Studio must not run again.
            trigger_webhooks=session.webhooks_run,
            key=f"member:{member.interaction_id}",
            may_exist=retry,
        )
        shown = text if text else "(a file)"
        self._post(
            session.channel_id,
            f"💬 **{member.display_name}:** {shown}",
            nonce=_nonce("me", member.interaction_id),
        )
        if text:
            self._assist(session, text, message_key=member.interaction_id, retry=retry)
        return unattached

    def _attach(self, attachment: dict[str, Any]) -> str | None:
        """Upload the member's file to Twilio Media; None when it cannot be (the caller links it
        instead). Any failure here is the file's, not the message's: the message still goes."""
        try:
            content = self._discord.download_attachment(
                str(attachment["url"]), max_bytes=ATTACHMENT_MAX_BYTES
            )
            return self._twilio.upload_media(
                filename=str(attachment.get("filename") or "attachment"),
                content_type=str(attachment.get("content_type") or "application/octet-stream"),
                content=content,
            )
        except Exception as problem:
            logger.warning("attachment not uploaded to Twilio; linking it", extra={"reason": repr(problem)})
            metrics.add_metric(name="MemberMediaLinked", unit="Count", value=1)
            return None

    def _agent_media(self, event: dict[str, Any]) -> tuple[list[FileUpload], list[str]]:
        """The agent's files, copied for Discord within what one message can carry, and a line
        for each file that could not be (so the member knows it exists)."""
        try:
            media = json.loads(str(event.get("Media") or "[]"))
        except ValueError:
            media = []
        files: list[FileUpload] = []
        missing: list[str] = []
        budget = DISCORD_UPLOAD_MAX_BYTES
        for item in media if isinstance(media, list) else []:
            if not isinstance(item, dict):
                continue
            filename = str(item.get("Filename") or "file")
            if len(files) == DISCORD_MAX_FILES:
                missing.append(f"{filename} (too many files for one message)")
                continue
            try:
                content = self._twilio.download_media(str(item["Sid"]), max_bytes=budget)
            except MediaTooLarge:
                missing.append(f"{filename} (too large to show here)")
                continue
            except Exception as problem:
                logger.warning("agent media not copied", extra={"media": item, "reason": repr(problem)})
                missing.append(f"{filename} (could not be copied)")
                continue
            budget -= len(content)
            files.append(
                FileUpload(
                    filename=filename,
                    content=content,
                    content_type=str(item.get("ContentType") or "application/octet-stream"),
                )
            )
        return files, missing

    def _agent_name(self, identity: str, event: dict[str, Any]) -> str:
        """How the member sees the agent: the name Flex gives them, never their identity."""
        return _participant_name(event) or self._twilio.user_friendly_name(identity) or AGENT_FALLBACK_NAME

    def _hand_off_directly(self, session: SupportSession, attributes: dict[str, Any]) -> FlexHandoff:
        workspace, workflow = (
            self._twilio_settings.flex_workspace_sid,
            self._twilio_settings.flex_workflow_sid,
        )
        if not workspace or not workflow:
            raise TwilioError(
                "TWILIO_FLEX_WORKSPACE_SID and TWILIO_FLEX_WORKFLOW_SID are needed without Studio"
            )
        return self._twilio.hand_off_to_flex(
            session.conversation_sid,
            workspace_sid=workspace,
            workflow_sid=workflow,
            task_attributes=attributes,
        )

    def _close(
        self,
        session: SupportSession,
        *,
        actor_id: str,
        note: str,
        notice: str,
        conversation_closed: bool = False,
    ) -> None:
        """End the chat: Twilio's side, the case, the member's notice, and only then the session,
        so a retry after any failure still finds the session and finishes (each step repeats
        harmlessly: closing is idempotent, the case moves once, the notice has a nonce)."""
        if not conversation_closed:
            self._twilio.close_conversation(session.conversation_sid)
            self._close_interaction(session)
        components: list[dict[str, Any]] = []
        if session.case_number is not None:
            case = self._cases.move(
                session.guild_id,
                session.case_number,
                CaseStatus.RESOLVED,
                actor=Actor(actor_id, actor_id),
                note=note,
            )
            logger.info("case resolved", extra={"case": case.number})
            # The member rates the chat and can ask for its transcript from the notice.
            notice = f"{notice}\n{RATE_PROMPT}"
            components = closing_components(case)
        self._post(
            session.channel_id, notice, components=components, nonce=_nonce("end", session.conversation_sid)
        )
        self._sessions.end(session)

    def _close_interaction(self, session: SupportSession) -> None:
        if session.interaction_sid and session.interaction_channel_sid:
            self._twilio.close_interaction_channel(
                FlexHandoff(session.interaction_sid, session.interaction_channel_sid)
            )

    def _post(
        self,
        channel_id: str,
        content: str,
        *,
        components: list[dict[str, Any]] | None = None,
        files: list[FileUpload] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        nonce: str | None = None,
    ) -> None:
        self._discord.create_message(
            channel_id,
            content=content,
            embeds=embeds or (),
            components=components or (),
            files=files or (),
            nonce=nonce,
        )


def decision_from_payload(data: dict[str, Any]) -> Decision:
    return Decision(
        handoff=bool(data["handoff"]),
        reply=str(data["reply"]),
        misses=int(data["misses"]),
        reason=str(data["reason"]),
        articles=[Suggestion(**article) for article in data.get("articles", [])],
    )


def _queued_notice(case_number: int) -> str:
    return f"📨 Case #{case_number} opened, connecting you to an agent."


def answer_view(decision: Decision) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The assistant's suggestions as an embed, with "This helped" and "Talk to a human"."""
    if not decision.articles:
        return [], []
    embed = {
        "title": "From the help centre",
        "color": 0x3E63DD,
        "fields": [
            {
                "name": truncate(a.title, 256),
                "value": truncate(f"{a.snippet}\n[Read the article]({a.url})", 1024),
            }
            for a in decision.articles
        ],
    }
    buttons = {
        "type": 1,
        "components": [
            {"type": 2, "style": 3, "label": "This helped", "custom_id": HELPED_BUTTON},
            {"type": 2, "style": 2, "label": "Talk to a human", "custom_id": TALK_TO_HUMAN_BUTTON},
        ],
    }
    return [embed], [buttons]


def _with_notes(content: str, missing: list[str]) -> str:
    if not missing:
        return content
    return content + "\n" + "\n".join(f"📎 {line}" for line in missing)


def _participant_name(event: dict[str, Any]) -> str | None:
    try:
        attributes = json.loads(str(event.get("Attributes") or "{}"))
    except ValueError:
        return None
    name = (
        attributes.get("friendly_name") or attributes.get("full_name")
        if isinstance(attributes, dict)
        else None
    )
    return str(name) if name else None


def _nonce(prefix: str, seed: str) -> str:
    """A Discord nonce (≤25 characters) that is the same for a retried job: a redelivered job
    whose post went out before it failed does not post twice within Discord's nonce window."""
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:20]}"


def _member_message_relayed(session: SupportSession, snowflake: int | None) -> bool:
    """Whether the member's message of the interaction ``snowflake`` needs no relaying in this
    chat: it was the last one relayed (its job came back), or it was sent before this chat was
    opened (a redelivery that outlived the chat it belonged to)."""
    if snowflake is None:
        return False
    return snowflake == session.member_relayed_through or snowflake < session.opened_by_interaction


def _message_index(event: dict[str, Any]) -> int | None:
    """A message's ``Index`` in its conversation (Twilio numbers them from 0, in order)."""
    try:
        return int(str(event.get("Index")))
    except ValueError:
        return None
