"""In-memory stand-ins for the ports, so the domain and the endpoint are tested without a network."""

from __future__ import annotations

from dataclasses import replace

from flexcord.cases.model import Case, CaseDraft
from flexcord.jobs.model import Job


class InMemoryCaseRepository:
    def __init__(self) -> None:
        self.cases: dict[int, Case] = {}
        self.sources: dict[str, int] = {}
        self._counter = 0

    def create(self, draft: CaseDraft, *, source_id: str, now: str) -> Case:
        if source_id in self.sources:
            return self.cases[self.sources[source_id]]
        self._counter += 1
        case = Case.open_from(draft, number=self._counter, now=now, source_id=source_id)
        self.cases[case.number] = case
        self.sources[source_id] = case.number
        return case

    def get(self, number: int) -> Case | None:
        return self.cases.get(number)

    def list_by_reporter(self, user_id: str, *, limit: int) -> list[Case]:
        mine = [c for c in self.cases.values() if c.reporter.user_id == user_id]
        return sorted(mine, key=lambda c: c.number, reverse=True)[:limit]

    def save(self, case: Case) -> None:
        if case.number not in self.cases:
            raise KeyError(case.number)
        self.cases[case.number] = replace(case)


class RecordingQueue:
    def __init__(self, *, fail: bool = False) -> None:
        self.jobs: list[Job] = []
        self.fail = fail

    def enqueue(self, job: Job) -> None:
        from flexcord.adapters.queue.job_queue import QueueUnavailable

        if self.fail:
            raise QueueUnavailable("queue down")
        self.jobs.append(job)


class InMemorySessionRepository:
    def __init__(self) -> None:
        from flexcord.sessions.model import SupportSession

        self.by_member: dict[str, SupportSession] = {}

    def open(self, session):  # type: ignore[no-untyped-def]
        return self.by_member.setdefault(session.user_id, session)

    def for_member(self, user_id: str):  # type: ignore[no-untyped-def]
        return self.by_member.get(user_id)

    def for_conversation(self, conversation_sid: str):  # type: ignore[no-untyped-def]
        return next((s for s in self.by_member.values() if s.conversation_sid == conversation_sid), None)

    def save(self, session) -> None:  # type: ignore[no-untyped-def]
        self.by_member[session.user_id] = session

    def end(self, session) -> None:  # type: ignore[no-untyped-def]
        self.by_member.pop(session.user_id, None)
