"""Recording that a chat goes to a human: the support case, linked to the conversation, and the
session queued. Shared by the worker (button, direct path) and ChatbotFunction (Studio path).

Queuing the session is not the hand-off itself: the caller asks Flex next and then marks the
session ``handed_to_flex``, so a failure in between leaves a hand-off that a retry completes."""

from __future__ import annotations

from typing import Any

from flexcord.cases import Case, CaseDraft, CaseKind, CaseService, Reporter
from flexcord.sessions.model import SupportSession
from flexcord.sessions.repository import SessionRepository


def record_handoff(
    session: SupportSession,
    *,
    cases: CaseService,
    sessions: SessionRepository,
    source_id: str,
    flow_hands_off: bool = False,
) -> tuple[SupportSession, Case]:
    """Idempotent on ``source_id`` (what asked for the hand-off): a retry finds the same case, and
    a session already queued keeps its case. ``flow_hands_off``: the caller's answer is what
    sends the chat to Flex (ChatbotFunction answering the Studio flow), so nothing is left to do."""
    existing = cases.find(session.guild_id, session.case_number) if session.case_number is not None else None
    case = existing or cases.open_case(
        CaseDraft(
            kind=CaseKind.SUPPORT,
            title=f"Support chat with {session.display_name}",
            sections=(),
            reporter=Reporter(session.user_id, session.display_name, session.display_name),
            guild_id=session.guild_id,
            channel_id=session.channel_id,
        ),
        source_id=source_id,
    )
    if case.conversation_sid is None:
        case = cases.link_conversation(case, session.conversation_sid)
    queued = session.queued(case.number)
    if flow_hands_off:
        queued = queued.handed_off()
    if queued != session:
        sessions.save(queued)
    return queued, case


#: How many of the member's earlier cases the agent's task carries.
RECENT_CASES_SHOWN = 5


def recent_cases(session: SupportSession, cases: CaseService) -> list[Case]:
    """The member's latest cases in the chat's server, newest first, without the chat's own."""
    server = cases.server_of(session.guild_id)
    found = cases.cases_of(session.user_id, limit=RECENT_CASES_SHOWN * 5)
    return [case for case in found if case.server == server and case.number != session.case_number][
        :RECENT_CASES_SHOWN
    ]


def task_attributes(session: SupportSession, cases: CaseService | None = None) -> dict[str, Any]:
    """What the agent's task carries: who (display name only), the case, the conversation, and
    the member's recent cases (number, kind, title, status) so the agent sees their history."""
    attributes: dict[str, Any] = {
        "from": session.display_name,
        "discord_display_name": session.display_name,
        "case_number": session.case_number,
        "conversation_sid": session.conversation_sid,
        "locale": session.locale,
    }
    if cases is not None:
        recent = recent_cases(session, cases)
        attributes["recent_cases"] = [
            {"number": c.number, "kind": c.kind.value, "title": c.title, "status": c.status.value}
            for c in recent
        ]
        # Also as one line the Studio flow can place inside its JSON template as is: no quotes,
        # backslashes or control characters.
        attributes["recent_cases_summary"] = _template_safe(
            "; ".join(f"#{c.number} {c.kind.label}: {c.title} ({c.status.label.lower()})" for c in recent)
        )
    return attributes


def _template_safe(text: str) -> str:
    return "".join("'" if c in '"\\' else " " if ord(c) < 32 else c for c in text)


def after_hours_notice(back: str) -> str:
    """What a member who asks for a human outside support hours is told (``back``: the server's
    after-hours message and when agents are back)."""
    return (
        f"🌙 {back}\nThe assistant keeps answering in the meantime. Or **leave a message**: it opens "
        "a case our team picks up when they're back."
    )
