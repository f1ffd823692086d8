"""POST /twilio/chatbot: the target of the Studio flow's HTTP Request widget.

Studio calls it for each member message while the assistant has the chat, and routes on the
answer: ``{"handoff": bool, "reply": str, "articles": [...]}``. The answer must come back within
Studio's 10 s as a JSON object, so showing it in Discord and recording it in the conversation are
queued for the worker. Studio signs JSON requests over the URL with ``?bodySHA256=`` (the body's
hash), form requests over the URL and the parameters; RequestValidator checks both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from flexcord.adapters.queue.job_queue import JobQueue, QueueUnavailable
from flexcord.apigateway import HttpRequest, RequestRejected, error_response, json_response, public_url
from flexcord.assistant.decide import KnowledgeBase, decide
from flexcord.cases import CaseService
from flexcord.jobs.model import Job, JobKind
from flexcord.observability import logger, metrics
from flexcord.servers.settings import ServerDirectory
from flexcord.sessions.handoff import after_hours_notice, record_handoff, task_attributes
from flexcord.sessions.model import FLEXCORD_AUTHOR, SessionMode, SupportSession
from flexcord.sessions.repository import SessionRepository
from flexcord.twilio_webhooks import is_sid
from flexcord.twilio_webhooks.signature import (
    MAX_BODY_BYTES,
    MAX_FORM_FIELDS,
    SIGNATURE_HEADER,
    signed_by_twilio,
)

NOTHING_TO_DO: dict[str, Any] = {"handoff": False, "reply": "", "articles": []}


def wall_clock() -> datetime:
    """The current time, aware (UTC). Tests inject their own clock instead."""
    return datetime.now(UTC)


class ChatbotEndpoint:
    def __init__(
        self,
        *,
        auth_token: Callable[[], str],
        public_base_url: str | None,
        sessions: Callable[[], SessionRepository],
        cases: Callable[[], CaseService],
        knowledge_base: Callable[[], KnowledgeBase],
        queue: Callable[[], JobQueue],
        servers: Callable[[], ServerDirectory] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """``servers``: each server's support hours (None: always open); outside them the
        assistant does not hand off but says when agents are back. ``now``: an aware clock."""
        self._servers = servers
        self._now = now
        self._cases = cases
        self._auth_token = auth_token
        self._public_base_url = public_base_url
        self._sessions = sessions
        self._knowledge_base = knowledge_base
        self._queue = queue

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = HttpRequest.from_event(event, max_body_bytes=MAX_BODY_BYTES)
            is_json = (request.header("content-type") or "").lower().startswith("application/json")
            signed: dict[str, str] | str = (
                request.text() if is_json else request.form(max_fields=MAX_FORM_FIELDS)
            )
        except RequestRejected as rejection:
            return rejection.response()
        url = public_url(request, self._public_base_url)
        if not signed_by_twilio(url, signed, request.header(SIGNATURE_HEADER), self._auth_token()):
            logger.warning("Twilio signature rejected", extra={"url": url})
            metrics.add_metric(name="TwilioSignatureRejected", unit="Count", value=1)
            return error_response(403, "invalid Twilio signature")
        try:
            data = json.loads(signed) if isinstance(signed, str) else signed
        # JSONDecodeError is a ValueError; absurdly deep nesting raises RecursionError.
        except (ValueError, RecursionError):
            return error_response(400, "the body is not JSON")
        if not isinstance(data, dict) or not is_sid(data.get("conversation_sid"), "CH"):
            return error_response(400, "conversation_sid is required")
        answer = self._answer(data)
        if answer is None:
            # The member's answer cannot reach Discord. A 5xx takes the flow's "failed" transition,
            # which sends the chat to Flex: an agent answers instead of nobody.
            return error_response(503, "the answer could not be queued; hand the chat to an agent")
        return json_response(200, answer)

    def _answer(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The flow's answer, or None when the member's copy of it could not be queued."""
        session = self._sessions().for_conversation(str(data["conversation_sid"]))
        if session is None or session.mode is SessionMode.AGENT:
            return NOTHING_TO_DO  # no chat, or an agent has it: the assistant stays out
        author = str(data.get("author") or "")
        if author == FLEXCORD_AUTHOR:
            # Flexcord's note that the member pressed "Talk to a human": the worker has opened
            # the case and queued the session; the flow sends the chat to Flex with these.
            if _attributes(data).get("handoff") is True and session.mode is SessionMode.QUEUED:
                return {**NOTHING_TO_DO, "handoff": True, "task": task_attributes(session, self._cases())}
            return NOTHING_TO_DO
        if author != session.member_identity or session.mode is not SessionMode.ASSISTANT:
            return NOTHING_TO_DO
        decision = decide(
            str(data.get("body") or ""),
            knowledge_base=self._knowledge_base(),
            misses=session.assistant_misses,
            locale=session.locale,
        )
        message_sid = str(data.get("message_sid") or "")
        message_sid = message_sid if is_sid(message_sid, "IM") else ""
        key = f"assistant:{message_sid or data['conversation_sid']}"
        back = self._back_message(session) if decision.handoff else None
        if back is not None:
            # Outside the server's support hours: no hand-off; the member is told when agents
            # are back (and offered to leave a message) and the assistant keeps the chat.
            decision = replace(decision, handoff=False, reply=after_hours_notice(back))
            metrics.add_metric(name="AfterHoursHandoffDeclined", unit="Count", value=1)
        if decision.handoff:
            # Open the case now, so the flow's Send to Flex carries its number.
            # The flow's Send to Flex, on this answer, is the hand-off itself.
            session, _ = record_handoff(
                session, cases=self._cases(), sessions=self._sessions(), source_id=key, flow_hands_off=True
            )
        job = Job(
            kind=JobKind.ASSISTANT_REPLY,
            key=key,
            group=session.user_id,  # after the member's own message in their queue
            payload={
                "conversation_sid": session.conversation_sid,
                "message_sid": message_sid,
                "decision": asdict(decision),
                "after_hours": back is not None,
            },
        )
        try:
            self._queue().enqueue(job)
        except QueueUnavailable:
            logger.exception("assistant answer not queued; the flow hands the chat to an agent")
            metrics.add_metric(name="AssistantAnswerNotQueued", unit="Count", value=1)
            return None
        metrics.add_metric(
            name="AssistantHandedOff" if decision.handoff else "AssistantQueried", unit="Count", value=1
        )
        reply: dict[str, Any] = {
            "handoff": decision.handoff,
            "reply": decision.reply,
            "articles": [
                {"title": a.title, "url": a.url, "score": round(a.score, 4)} for a in decision.articles
            ],
        }
        if decision.handoff:
            reply["task"] = task_attributes(session, self._cases())  # for the flow's Send to Flex
        return reply

    def _back_message(self, session: SupportSession) -> str | None:
        if self._servers is None:
            return None
        hours = self._servers().support_hours_of(session.guild_id)
        return hours.back_message(self._now() if self._now else wall_clock())


def _attributes(data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("attributes") or "{}"
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
