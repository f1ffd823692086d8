"""After a support chat: the member rates it (1–5 and an optional comment) and can get its
transcript as a text file.

The closing notice's buttons carry the case's server and number, which a tampered client can
change: every action re-checks, against the stored case and the signed interaction, that the
member who pressed is the case's reporter. Someone else's press changes nothing and reads nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.discord import (
    DiscordClient,
    FileUpload,
    UnknownInteraction,
    UnknownWebhook,
    derived_nonce,
)
from flexcord.adapters.twilio import ConversationMessage, TwilioGateway
from flexcord.cases import Case, CaseService
from flexcord.cases.service import CaseAccessDenied, CaseNotFound, InvalidCaseChange
from flexcord.interactions.custom_ids import (
    rate_chat_button,
    rate_comment_button,
    transcript_button,
)
from flexcord.jobs.model import InteractionContext, Job
from flexcord.jobs.notify import tell_member
from flexcord.observability import logger, metrics
from flexcord.sessions.model import FLEXCORD_AUTHOR

#: Shown for an agent whose name Flex does not give: never their identity (often an e-mail).
AGENT_FALLBACK_NAME = "Support agent"
STARS = range(1, 6)
COMMENT_MAX = 1000
#: Well under a bot's 10 MiB upload limit; a longer transcript is cut, and says so.
TRANSCRIPT_MAX_BYTES = 8 * 1024 * 1024
NOT_YOURS = "Only the member who had this chat can rate it or get its transcript."


def member_identity(conversation_sid: str) -> str:
    """The member's Twilio identity: derived from the conversation alone, so it carries nothing
    about the member, and a retried job finds the same participant."""
    return "member_" + hashlib.sha256(conversation_sid.encode()).hexdigest()[:24]


def closing_components(case: Case) -> list[dict[str, Any]]:
    """Under the closing notice: 1–5 rating buttons (the chosen one highlighted), "Add a
    comment" and "Send me the transcript"."""
    rating_row = {
        "type": 1,
        "components": [
            {
                "type": 2,
                "style": 3 if case.rating == stars else 2,
                "label": f"{stars} ★",
                "custom_id": rate_chat_button(case.server, case.number, stars),
            }
            for stars in STARS
        ],
    }
    more_row = {
        "type": 1,
        "components": [
            {
                "type": 2,
                "style": 1,
                "label": "Add a comment",
                "custom_id": rate_comment_button(case.server, case.number),
            },
            {
                "type": 2,
                "style": 2,
                "label": "Send me the transcript",
                "custom_id": transcript_button(case.server, case.number),
            },
        ],
    }
    return [rating_row, more_row]


def rating_embed(case: Case) -> dict[str, Any]:
    stars = case.rating or 0
    text = f"Your rating: {'★' * stars}{'☆' * (5 - stars)} ({stars}/5). Thanks for telling us!"
    if case.rating_comment:
        text += "\nYour comment is saved with the case."
    return {"description": text, "color": 0x3E63DD}


class ChatFollowUp:
    def __init__(self, *, cases: CaseService, discord: DiscordClient, twilio: TwilioGateway) -> None:
        self._cases = cases
        self._discord = discord
        self._twilio = twilio

    def rate(self, job: Job) -> dict[str, Any]:
        """A rating button (answered with a deferred update): store it, count it, and show it on
        the notice. The last press counts."""
        member = job.interaction
        server, number, stars = (
            str(job.payload["server"]),
            int(job.payload["number"]),
            int(job.payload["stars"]),
        )
        before = self._cases.find(server, number)
        try:
            case = self._cases.rate(
                server, number, user_id=member.user_id, rating=stars, comment="", event_id=job.key
            )
        except (CaseAccessDenied, CaseNotFound, InvalidCaseChange) as refusal:
            logger.info("rating refused", extra={"case": number, "reason": str(refusal)})
            self._refuse(
                member, NOT_YOURS if isinstance(refusal, CaseAccessDenied) else f"Not rated: {refusal}."
            )
            return {"rated": False}
        if before is None or not before.has_event(job.key):  # a retry does not count twice
            metrics.add_metric(name="ChatRating", unit="None", value=stars)
        try:
            self._discord.edit_original_response(
                member.token, embeds=[rating_embed(case)], components=closing_components(case)
            )
        except (UnknownWebhook, UnknownInteraction):
            # The rating is stored; only showing it on the notice came too late.
            logger.info("rating stored; the notice could not be updated", extra={"case": case.number})
        return {"rated": True, "case": case.number, "stars": stars}

    def comment(self, job: Job) -> dict[str, Any]:
        """The "Add a comment" form: stored with the rating (a new comment replaces the last)."""
        member = job.interaction
        server, number = str(job.payload["server"]), int(job.payload["number"])
        text = str(job.payload.get("comment") or "").strip()[:COMMENT_MAX]
        try:
            case = self._cases.rate(
                server, number, user_id=member.user_id, rating=None, comment=text, event_id=job.key
            )
        except (CaseAccessDenied, CaseNotFound, InvalidCaseChange) as refusal:
            logger.info("comment refused", extra={"case": number, "reason": str(refusal)})
            message = NOT_YOURS if isinstance(refusal, CaseAccessDenied) else f"Not saved: {refusal}."
            tell_member(self._discord, member, content=message)
            return {"saved": False}
        tell_member(self._discord, member, content=f"Thanks! Your comment is saved with case #{case.number}.")
        return {"saved": True, "case": case.number}

    def transcript(self, job: Job) -> dict[str, Any]:
        """ "Send me the transcript": the whole conversation, read from Twilio (it works after the
        chat has ended), as a text file in the member's reply."""
        member = job.interaction
        server, number = str(job.payload["server"]), int(job.payload["number"])
        case = self._cases.find(server, number)
        if case is None or case.reporter.user_id != member.user_id:
            tell_member(self._discord, member, content=NOT_YOURS)
            return {"sent": False}
        if not case.conversation_sid:
            tell_member(self._discord, member, content=f"Case #{case.number} has no chat to send.")
            return {"sent": False}
        messages = self._twilio.conversation_messages(case.conversation_sid)
        text = render_transcript(case, messages, agent_name=self._agent_namer(case))
        content = text.encode()
        if len(content) > TRANSCRIPT_MAX_BYTES:
            cut = content[:TRANSCRIPT_MAX_BYTES].decode(errors="ignore")
            content = (cut + "\n\n[The transcript is too long for Discord and was cut here.]\n").encode()
        upload = FileUpload(
            filename=f"support-case-{case.number}-transcript.txt",
            content=content,
            content_type="text/plain; charset=utf-8",
        )
        said = f"📄 The transcript of your support chat (case #{case.number}), {len(messages)} messages."
        try:
            self._discord.edit_original_response(member.token, content=said, files=[upload], ephemeral=True)
        except (UnknownWebhook, UnknownInteraction):
            channel = self._discord.open_dm(member.user_id)
            # Derived from the press: a retried job posts the transcript once.
            nonce = derived_nonce("tx", member.interaction_id)
            self._discord.create_message(str(channel["id"]), content=said, files=[upload], nonce=nonce)
        metrics.add_metric(name="TranscriptsSent", unit="Count", value=1)
        return {"sent": True, "case": case.number, "messages": len(messages)}

    def _refuse(self, member: InteractionContext, content: str) -> None:
        """Answer a press that changes nothing without touching the message it was on."""
        try:
            self._discord.create_followup(member.token, content=content, ephemeral=True)
        except (UnknownWebhook, UnknownInteraction):
            logger.info("refusal not shown: the interaction has expired")

    def _agent_namer(self, case: Case) -> Callable[[str], str]:
        """Agents by the names they were shown with (the case history records "Alex joined"),
        else the name Flex gives their user, never their identity."""
        known = {event.actor_id: event.actor_name for event in case.history if event.actor_name}
        looked_up: dict[str, str] = {}

        def name(identity: str) -> str:
            if identity in known:
                return known[identity]
            if identity not in looked_up:
                looked_up[identity] = self._twilio.user_friendly_name(identity) or AGENT_FALLBACK_NAME
            return looked_up[identity]

        return name


def render_transcript(
    case: Case, messages: list[ConversationMessage], *, agent_name: Callable[[str], str]
) -> str:
    """The conversation as plain text: one line per message with its UTC time and who wrote it
    (the member by their name, the assistant, agents by their display names, Flexcord's own
    notices labelled as such)."""
    member = member_identity(case.conversation_sid or "")
    lines = [
        f"Support chat transcript, case #{case.number}: {case.title}",
        f"Member: {case.reporter.display_name}",
        "Times are UTC.",
        "",
    ]
    for message in messages:
        if message.author == member:
            who = case.reporter.display_name
        elif message.author == FLEXCORD_AUTHOR:
            who = "Assistant" if message.attributes.get("assistant") else "Flexcord (notice)"
        else:
            who = f"{agent_name(message.author)} (agent)"
        when = _utc(message.date_created)
        body = message.body or ""
        if message.media_filenames:
            body = (body + "\n" if body else "") + " ".join(
                f"[attached: {filename}]" for filename in message.media_filenames
            )
        body = body.replace("\r\n", "\n").replace("\n", "\n    ")
        lines.append(f"[{when}] {who}: {body}")
    if not messages:
        lines.append("(no messages)")
    return "\n".join(lines) + "\n"


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
