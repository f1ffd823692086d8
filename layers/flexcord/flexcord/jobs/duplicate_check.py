"""Duplicate suggestions: before a /bug or /new_feature report is filed, ask its member whether it
is one of the server's open cases that look like it.

1. ``offer`` (called at the top of ``CaseJobs.create_case``): the server's open cases of the
   report's kind, other members' only, are ranked against it (``cases.similar``). When some are
   close, the draft is held (``cases.pending``, a day) under the submit's interaction id and the
   member's deferred reply becomes "Is it one of these?" with a button per case and "No, file
   mine". Otherwise the report is filed as before.
2. ``choose`` (a press, JobKind.DUPLICATE_CHOICE): the press must come from the member who
   submitted the draft, for a case that was offered; a crafted custom_id or another member's
   press changes nothing. The first choice counts (``PendingDrafts.decide``): picking a case
   adds the member as its supporter (idempotent on the choosing press's id); "No, file mine"
   files the draft exactly as ``create_case`` would have (idempotent on the submit's id, the
   case's source). A second press repeats the first choice's outcome, so a member is counted
   once and a report filed once, however often a press is delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from flexcord.adapters.discord import DiscordClient
from flexcord.cases.model import Case, CaseDraft, CaseKind
from flexcord.cases.pending import DRAFT_TTL_SECONDS, FILE_MINE, Offered, PendingDraft, PendingDrafts
from flexcord.cases.service import Actor, CaseFilter, CaseService
from flexcord.cases.similar import similar_cases
from flexcord.interactions.custom_ids import duplicate_pick_button, file_mine_button
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.notify import tell_member
from flexcord.jobs.payloads import draft_to_payload
from flexcord.kb.articles import Article
from flexcord.kb.synonyms import SynonymTable
from flexcord.observability import logger, metrics

#: The payload flag of a CREATE_CASE job whose member has answered "No, file mine".
CHECKED = "duplicates_checked"
#: The newest open cases a report is compared with (each is read and indexed per report).
OPEN_CASES_SEARCHED = 300
#: Discord's limit on a button's label.
BUTTON_LABEL_MAX = 80

EXPIRED = (
    "This question has expired: a report waits a day for an answer. "
    "Please file it again with `/bug` or `/new_feature`."
)
NOT_YOURS = "Only the member who wrote this report can answer for it."
NOT_OFFERED = "That case wasn't one of the suggestions. Please use the buttons on the message."

Executor = Callable[[Job], dict[str, Any]]
#: The help centre's articles (word frequencies for the ranking) and its synonym table.
Background = Callable[[], tuple[Sequence[Article], SynonymTable | None]]


def shipped_help_centre() -> tuple[Sequence[Article], SynonymTable | None]:
    """The articles shipped in the layer and their synonyms, loaded once per process."""
    from flexcord.kb.retrieval import default_knowledge_base

    knowledge = default_knowledge_base()
    return knowledge.articles, knowledge.index.synonyms


class DuplicateCheck:
    def __init__(
        self,
        service: CaseService,
        discord: DiscordClient,
        drafts: PendingDrafts,
        *,
        background: Background = shipped_help_centre,
        clock: Callable[[], float] = time.time,
        on_supported: Callable[[Case], None] | None = None,
    ) -> None:
        """``on_supported`` shows a case's new supporter count (its post is refreshed)."""
        self._on_supported = on_supported
        self._service = service
        self._discord = discord
        self._drafts = drafts
        self._background = background
        self._clock = clock

    # -- the question ---------------------------------------------------------------------------

    def offer(self, job: Job, draft: CaseDraft) -> dict[str, Any] | None:
        """Ask the member about open cases like their report; None to file it as it is."""
        if job.payload.get(CHECKED) or draft.kind not in (CaseKind.BUG, CaseKind.FEATURE):
            return None
        matches = self._matches(draft)
        if not matches:
            return None
        draft_id = job.interaction.interaction_id
        pending = self._drafts.keep(
            PendingDraft(
                draft_id=draft_id,
                draft=draft,
                offered=tuple(Offered(case.number, case.title) for case in matches),
                expires_at=int(self._clock()) + DRAFT_TTL_SECONDS,
            )
        )
        offered = [case.number for case in pending.offered]
        if pending.choice is not None:
            # A redelivered submit, after the member answered: their answer stays on screen.
            return {"draft": draft_id, "offered": offered, "answered": True}
        tell_member(self._discord, job.interaction, content=question(pending), components=buttons(pending))
        metrics.add_metric(name="DuplicateSuggestionsShown", unit="Count", value=1)
        return {"draft": draft_id, "offered": offered}

    def _matches(self, draft: CaseDraft) -> list[Case]:
        try:
            open_cases = self._service.open_cases(
                draft.guild_id, CaseFilter(kind=draft.kind), limit=OPEN_CASES_SEARCHED
            )
            # Not the member's own: they know those (``/mycases``), and a retried submit whose
            # case was filed by an earlier delivery must not be offered that very case.
            others = [case for case in open_cases if case.reporter.user_id != draft.reporter.user_id]
            articles, synonyms = self._background()
            found = similar_cases(draft, others, background=articles, synonyms=synonyms)
            return [similar.case for similar in found]
        except Exception:
            # A report is never lost to the check: without it, it is filed as before.
            logger.exception("duplicate check failed; filing the report")
            metrics.add_metric(name="DuplicateCheckFailures", unit="Count", value=1)
            return []

    # -- the answer -----------------------------------------------------------------------------

    def choose(self, job: Job, *, file_case: Executor) -> dict[str, Any]:
        """A press on the question. ``file_case`` files a report (``CaseJobs.create_case``)."""
        presser = job.interaction
        draft_id = str(job.payload["draft"])
        wanted = int(job.payload["choice"])
        refusal = self._refusal(self._drafts.get(draft_id), presser.user_id, wanted)
        if refusal is not None:
            reason, content, components = refusal
            tell_member(self._discord, presser, content=content, components=components)
            return {"draft": draft_id, "refused": reason}
        decided = self._drafts.decide(draft_id, wanted, press_id=presser.interaction_id)
        if decided is None or decided.choice is None:
            tell_member(self._discord, presser, content=EXPIRED)
            return {"draft": draft_id, "refused": "expired"}
        if decided.choice == FILE_MINE:
            return {"draft": draft_id, **self._file(job, decided, file_case)}
        return {"draft": draft_id, **self._count(job, decided, decided.choice)}

    def _refusal(
        self, pending: PendingDraft | None, user_id: str, wanted: int
    ) -> tuple[str, str, list[dict[str, Any]]] | None:
        """Why this press changes nothing (the reason, what the member is told, the buttons left
        on the message), or None when it may choose."""
        if pending is None or pending.expired(self._clock()):
            return "expired", EXPIRED, []
        if pending.draft.reporter.user_id != user_id:
            logger.warning(
                "duplicate choice refused: not the draft's reporter", extra={"draft": pending.draft_id}
            )
            return "not the reporter", NOT_YOURS, []
        if wanted == FILE_MINE or pending.choice is not None:
            return None
        if not pending.offers(wanted):
            return "not offered", NOT_OFFERED, buttons(pending)
        case = self._service.find(pending.draft.guild_id, wanted)
        if case is None or not case.status.is_open:
            status = f" ({case.status.label.lower()})" if case else ""
            closed = (
                f"Case #{wanted} has been closed since{status}. If yours is still happening, "
                "press **No, file mine** and it is filed as a new case."
            )
            return "closed", closed, buttons(pending)
        return None

    def _count(self, job: Job, pending: PendingDraft, number: int) -> dict[str, Any]:
        member = job.interaction
        case = self._service.add_supporters(
            pending.draft.guild_id,
            number,
            [member.user_id],
            note=f"{member.display_name} reported it too (offered as a duplicate of their report)",
            # The press that chose: a redelivery, or another press, finds it recorded.
            event_id=pending.decided_by,
            actor=Actor(member.user_id, member.display_name),
        )
        if self._on_supported is not None:
            self._on_supported(case)
        members = 1 + case.support_count  # the reporter and everyone counted since
        how = "want it" if case.kind is CaseKind.FEATURE else "have reported it"
        content = (
            f"👍 You're now counted on **#{case.number}** “{case.title}”: {members} members {how}. "
            "No need to file it again; staff see everyone counted on it."
        )
        tell_member(self._discord, member, content=content)
        if pending.decided_by == member.interaction_id:  # a second press only repeats the outcome
            metrics.add_metric(name="DuplicatesAvoided", unit="Count", value=1)
        return {"counted_on": case.number, "supporters": case.support_count}

    def _file(self, job: Job, pending: PendingDraft, file_case: Executor) -> dict[str, Any]:
        # Filed as the submit asked: the case's source is the submit's interaction, so every
        # press (and every delivery of one) finds the same case. The answer goes to the press.
        filing = Job(
            kind=JobKind.CREATE_CASE,
            key=pending.draft_id,
            group=job.group,
            context=replace(job.interaction, interaction_id=pending.draft_id),
            payload={**draft_to_payload(pending.draft), CHECKED: True},
            attempt=job.attempt,
        )
        return {"filed": file_case(filing)}


def question(pending: PendingDraft) -> str:
    kind = pending.draft.kind.label.lower()
    lines = [
        "🔎 **Is it one of these?** Members have already reported something like your "
        f"{kind}. If one is the same, pick it and you'll be counted on it instead of opening a new case.",
        *(f"• **#{case.number}** {case.title}" for case in pending.offered),
        "Not the same? Press **No, file mine**. Your report waits a day for an answer.",
    ]
    return "\n".join(lines)


def buttons(pending: PendingDraft) -> list[dict[str, Any]]:
    """One row: a button per offered case (at most 3), and "No, file mine"."""
    picks = [
        {
            "type": 2,
            "style": 1,
            "label": _label(case),
            "custom_id": duplicate_pick_button(pending.draft_id, case.number),
        }
        for case in pending.offered
    ]
    mine = {"type": 2, "style": 2, "label": "No, file mine", "custom_id": file_mine_button(pending.draft_id)}
    return [{"type": 1, "components": [*picks, mine]}]


def _label(case: Offered) -> str:
    prefix = f"#{case.number} · "
    title = case.title
    room = BUTTON_LABEL_MAX - len(prefix)
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return prefix + title
