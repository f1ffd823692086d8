"""In-memory stand-ins for the ports, so the domain and the endpoint are tested without a network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from flexcord.announcements.model import CancelOutcome, ScheduledAnnouncement, ScheduleState
from flexcord.announcements.review import AnnouncementReview, ReviewState
from flexcord.cases.model import Case, CaseDraft, CaseStatus
from flexcord.cases.repository import VersionConflict
from flexcord.feeds.policy import FeedHealth
from flexcord.feeds.subscription import FeedSubscription
from flexcord.jobs.model import Job
from flexcord.servers.settings import ServerSettings


class InMemoryCaseRepository:
    """Cases in memory, numbered per server, with the same optimistic locking as DynamoDB.
    ``conflicts`` makes the next saves fail as if another writer came first."""

    def __init__(self) -> None:
        self.cases: dict[tuple[str, int], Case] = {}
        self.sources: dict[str, tuple[str, int]] = {}
        self._counters: dict[str, int] = {}
        self.conflicts = 0

    def create(self, draft: CaseDraft, *, source_id: str, now: str) -> Case:
        if source_id in self.sources:
            return self.cases[self.sources[source_id]]
        server = draft.guild_id or "0"
        self._counters[server] = self._counters.get(server, 0) + 1
        case = Case.open_from(draft, number=self._counters[server], now=now, source_id=source_id)
        self.cases[(server, case.number)] = case
        self.sources[source_id] = (server, case.number)
        return case

    def get(self, server: str, number: int) -> Case | None:
        return self.cases.get((server, number))

    def created_by(self, source_id: str) -> Case | None:
        key = self.sources.get(source_id)
        return self.cases[key] if key else None

    def list_by_reporter(self, user_id: str, *, limit: int) -> list[Case]:
        mine = [c for c in self.cases.values() if c.reporter.user_id == user_id]
        return sorted(mine, key=lambda c: (c.created_at, c.number), reverse=True)[:limit]

    def list_by_status(self, server: str, status: CaseStatus) -> list[Case]:
        return [c for (s, _), c in self.cases.items() if s == server and c.status is status]

    def save(self, case: Case) -> Case:
        key = (case.server, case.number)
        if key not in self.cases:
            raise KeyError(case.number)
        if self.conflicts:
            self.conflicts -= 1
            self.cases[key] = replace(self.cases[key], version=self.cases[key].version + 1)
            raise VersionConflict("someone else saved first")
        if self.cases[key].version != case.version:
            raise VersionConflict("stale")
        stored = replace(case, version=case.version + 1)
        self.cases[key] = stored
        return stored


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
        from dataclasses import replace

        stored = self.by_member.get(session.user_id)
        if stored is None or stored.conversation_sid != session.conversation_sid:
            return  # as DynamoDB's: the chat ended meanwhile, nothing is brought back
        # The relay marks move only by their own writes.
        self.by_member[session.user_id] = replace(
            session,
            relayed_through=stored.relayed_through,
            member_relayed_through=stored.member_relayed_through,
        )

    def record_relayed(self, conversation_sid: str, index: int) -> None:
        from dataclasses import replace

        session = self.for_conversation(conversation_sid)
        if session is not None and session.relayed_through < index:
            self.by_member[session.user_id] = replace(session, relayed_through=index)

    def record_member_relayed(self, session, interaction_id: int) -> None:  # type: ignore[no-untyped-def]
        from dataclasses import replace

        stored = self.by_member.get(session.user_id)
        same_chat = stored is not None and stored.conversation_sid == session.conversation_sid
        if same_chat and stored.member_relayed_through < interaction_id:
            self.by_member[session.user_id] = replace(stored, member_relayed_through=interaction_id)

    def end(self, session) -> None:  # type: ignore[no-untyped-def]
        self.by_member.pop(session.user_id, None)


class InMemoryServerSettings:
    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    def get(self, guild_id: str) -> ServerSettings | None:
        document = self.documents.get(guild_id)
        return ServerSettings.from_document({**document, "guild_id": guild_id}) if document else None

    def update(self, guild_id: str, changes: dict[str, Any]) -> None:
        self.documents.setdefault(guild_id, {}).update(changes)


class InMemoryScheduledAnnouncements:
    """ScheduledAnnouncements in a dict, with the DynamoDB adapter's conditions."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], ScheduledAnnouncement] = {}

    def schedule(self, scheduled: ScheduledAnnouncement) -> ScheduledAnnouncement:
        return self.items.setdefault((scheduled.server, scheduled.announcement_id), scheduled)

    def get(self, server: str, announcement_id: str) -> ScheduledAnnouncement | None:
        return self.items.get((server, announcement_id))

    def of_server(self, server: str) -> list[ScheduledAnnouncement]:
        return sorted((s for (g, _), s in self.items.items() if g == server), key=lambda s: s.post_at)

    def due(self, now: int, *, limit: int) -> list[ScheduledAnnouncement]:
        return sorted((s for s in self.items.values() if s.post_at <= now), key=lambda s: s.post_at)[:limit]

    def start_posting(self, server: str, announcement_id: str) -> bool:
        found = self.items.get((server, announcement_id))
        if found is None:
            return False
        self.items[(server, announcement_id)] = replace(found, state=ScheduleState.POSTING)
        return True

    def cancel(self, server: str, announcement_id: str) -> CancelOutcome:
        found = self.items.get((server, announcement_id))
        if found is None:
            return CancelOutcome.UNKNOWN
        if found.state is not ScheduleState.SCHEDULED:
            return CancelOutcome.TOO_LATE
        del self.items[(server, announcement_id)]
        return CancelOutcome.CANCELLED

    def remove(self, server: str, announcement_id: str) -> None:
        self.items.pop((server, announcement_id), None)


class InMemoryFeeds:
    """FeedRepository in a dict, with the DynamoDB adapter's conditions."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], FeedSubscription] = {}

    def add(self, feed: FeedSubscription) -> FeedSubscription:
        return self.items.setdefault((feed.server, feed.feed_id), feed)

    def get(self, server: str, feed_id: str) -> FeedSubscription | None:
        return self.items.get((server, feed_id))

    def of_server(self, server: str) -> list[FeedSubscription]:
        return [feed for (g, _), feed in self.items.items() if g == server]

    def remove(self, server: str, feed_id: str) -> bool:
        return self.items.pop((server, feed_id), None) is not None

    def due(self, now: int, *, limit: int) -> list[FeedSubscription]:
        due = [f for f in self.items.values() if f.next_poll_at <= now and not f.health.paused]
        return sorted(due, key=lambda f: f.next_poll_at)[:limit]

    def record_poll(self, feed: FeedSubscription, *, slot: int) -> bool:
        stored = self.items.get((feed.server, feed.feed_id))
        if stored is None or stored.next_poll_at != slot:
            return False
        self.items[(feed.server, feed.feed_id)] = feed
        return True

    def resume(self, server: str, feed_id: str, *, now: int) -> FeedSubscription | None:
        stored = self.items.get((server, feed_id))
        if stored is None:
            return None
        resumed = self.items[(server, feed_id)] = replace(stored, health=FeedHealth(), next_poll_at=now)
        return resumed


class InMemorySeenEntries:
    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}

    def seen_among(self, feed_id: str, digests: Iterable[str]) -> set[str]:
        return set(digests) & self.seen.get(feed_id, set())

    def mark_seen(self, feed_id: str, digests: Iterable[str]) -> None:
        self.seen.setdefault(feed_id, set()).update(digests)


class InMemoryAnnouncementReviews:
    """AnnouncementReviews in a dict, with the DynamoDB adapter's conditions (first submission
    wins; a decision while pending or by the same press; edits while pending)."""

    def __init__(self) -> None:
        self.items: dict[str, AnnouncementReview] = {}

    def submit(self, review: AnnouncementReview) -> AnnouncementReview:
        return self.items.setdefault(review.announcement_id, review)

    def get(self, announcement_id: str) -> AnnouncementReview | None:
        return self.items.get(announcement_id)

    def set_message(self, announcement_id: str, channel_id: str, message_id: str) -> None:
        self.items[announcement_id] = replace(
            self.items[announcement_id], channel_id=channel_id, message_id=message_id
        )

    def decide(
        self, announcement_id: str, state: ReviewState, *, by: str, press: str
    ) -> AnnouncementReview | None:
        found = self.items.get(announcement_id)
        if found is None:
            return None
        if found.state is ReviewState.PENDING or found.decided_press == press:
            found = self.items[announcement_id] = replace(
                found, state=state, decided_by=by, decided_press=press
            )
        return found

    def release(self, announcement_id: str, *, press: str) -> None:
        found = self.items.get(announcement_id)
        if found is not None and found.decided_press == press:
            self.items[announcement_id] = replace(
                found, state=ReviewState.PENDING, decided_by=None, decided_press=None
            )

    def edit(self, announcement_id: str, *, title: str, text: str, by: str) -> AnnouncementReview | None:
        found = self.items.get(announcement_id)
        if found is None or found.state is not ReviewState.PENDING:
            return None
        payload = {**found.job_payload, "title": title, "text": text}
        edited = self.items[announcement_id] = replace(found, job_payload=payload, edited_by=by)
        return edited
