"""The worker's side of triage on in-memory fakes: staff checks, and what a retried job does
after failing half-way (it completes the change once and tells the reporter once)."""

from __future__ import annotations

from typing import Any

import pytest

from flexcord.adapters.discord import CannotMessageUser, DiscordUnavailable
from flexcord.cases import CaseDraft, CaseKind, CaseSection, CaseService, Reporter
from flexcord.cases.model import PostedMessage
from flexcord.jobs.case_posts import CasePosts
from flexcord.jobs.case_triage import CaseTriage
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.servers.settings import ServerDirectory, ServerSettings
from tests.unit.fakes import InMemoryCaseRepository, InMemoryServerSettings

GUILD = "900"
STAFF_ROLE = "77"
ALICE = Reporter("111", "alice", "Alice")


class FakeDiscord:
    """Records what reaches Discord; ``fail_dms`` makes the next DM sends fail (an outage), and
    ``dms_closed`` refuses them as Discord does for a member with closed DMs."""

    def __init__(self) -> None:
        self.dms: list[str] = []
        self.thread_posts: list[tuple[str, str, Any]] = []
        self.replies: list[str] = []
        self.edits: list[str] = []
        self.fail_dms = 0
        self.dms_closed = False

    def open_dm(self, user_id: str) -> dict[str, Any]:
        return {"id": f"dm-{user_id}"}

    def create_message(
        self, channel_id: str, *, content: str = "", nonce: str | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        if channel_id.startswith("dm-"):
            if self.dms_closed:
                raise CannotMessageUser(403, 50007, "Cannot send messages to this user")
            if self.fail_dms:
                self.fail_dms -= 1
                raise DiscordUnavailable("DM failed", attempts=3, last_status=503)
            self.dms.append(content)
        else:
            self.thread_posts.append((channel_id, content, kwargs.get("allowed_mentions")))
        return [{"id": "m1", "attachments": []}]

    def edit_message(self, channel_id: str, message_id: str, **_: Any) -> dict[str, Any]:
        self.edits.append(message_id)
        return {}

    def edit_original_response(self, token: str, *, content: str | None = None, **_: Any) -> dict[str, Any]:
        self.replies.append(content or "")
        return {}


@pytest.fixture
def world() -> tuple[CaseTriage, CaseService, FakeDiscord]:
    service = CaseService(
        InMemoryCaseRepository(), clock=lambda: "2026-12-03T10:00:00+00:00", default_server=GUILD
    )
    servers = ServerDirectory(
        InMemoryServerSettings(), defaults=ServerSettings(guild_id=GUILD, staff_role_id=STAFF_ROLE)
    )
    discord = FakeDiscord()
    triage = CaseTriage(service, discord, servers, CasePosts(service, discord, servers))  # type: ignore[arg-type]
    case = service.open_case(
        CaseDraft(CaseKind.FEATURE, "Dark mode", (CaseSection("Problem", "Too bright"),), ALICE, GUILD, "c"),
        source_id="filed",
    )
    service.record_post(case, PostedMessage("ideas", "post-1"), ())
    service.record_thread(service.find(GUILD, 1), "post-1")  # type: ignore[arg-type]
    return triage, service, discord


def job(
    kind: JobKind,
    payload: dict[str, Any],
    *,
    user: str = "222",
    roles: tuple[str, ...] = (),
    key: str = "5001",
) -> Job:
    context = InteractionContext(key, "app", f"token-{key}", user, "sam", "Sam", roles, GUILD, "c", "en-US")
    return Job.for_interaction(kind, context, payload)


STATUS = {"number": 1, "action": "status", "status": "resolved", "note": "shipped in 1.5"}


def test_a_status_change_retried_after_the_dm_failed_tells_the_reporter_once(world: Any) -> None:
    triage, service, discord = world
    discord.fail_dms = 1
    change = job(JobKind.UPDATE_CASE, STATUS, roles=(STAFF_ROLE,))
    with pytest.raises(DiscordUnavailable):
        triage.update_case(change)
    assert service.find(GUILD, 1).status.value == "resolved"  # the change stands...
    triage.update_case(change)  # ...and the retry completes it
    triage.update_case(change)  # a third delivery, long after Discord's nonce window
    assert discord.dms == ["Your feature request #1 “Dark mode” is now **resolved**: shipped in 1.5"]
    history = [e.action for e in service.find(GUILD, 1).history]
    assert history.count("status_changed") == 1
    assert history.count("reporter_told") == 1


def test_with_dms_closed_the_reporter_is_mentioned_in_the_thread_and_only_they_are_pinged(world: Any) -> None:
    triage, _, discord = world
    discord.dms_closed = True
    triage.update_case(job(JobKind.UPDATE_CASE, STATUS, roles=(STAFF_ROLE,)))
    [(where, text, mentions)] = discord.thread_posts
    assert where == "post-1"
    assert text.startswith("<@111> Your feature request #1")
    assert list(mentions.users) == ["111"]
    assert list(mentions.parse) == []


@pytest.mark.parametrize(
    "payload",
    [
        STATUS,
        {"number": 1, "action": "note", "note": "x", "tell_reporter": True},
        {"number": 1, "action": "duplicate", "original": 2},
        {"number": 1, "action": "assign"},
    ],
)
def test_members_without_the_staff_role_change_nothing(world: Any, payload: dict[str, Any]) -> None:
    triage, service, discord = world
    before = service.find(GUILD, 1)
    result = triage.update_case(job(JobKind.UPDATE_CASE, payload, roles=("55",)))
    assert result == {"refused": "not staff"}
    assert service.find(GUILD, 1) == before
    assert discord.dms == []
    assert discord.replies[-1].startswith("Only this server's staff")


def test_me_too_retried_after_the_post_edit_failed_keeps_the_member_counted(world: Any) -> None:
    triage, service, discord = world

    def failing_edit(*_: Any, **__: Any) -> dict[str, Any]:
        raise DiscordUnavailable("edit failed", attempts=3, last_status=503)

    press = job(JobKind.SUPPORT_CASE, {"number": 1}, user="333", key="6001")
    discord.edit_message = failing_edit
    with pytest.raises(DiscordUnavailable):
        triage.support_case(press)
    del discord.edit_message
    assert triage.support_case(press) == {"case": 1, "supporting": True}
    assert service.find(GUILD, 1).supporters == ("333",)
    # A new press takes it back.
    assert (
        triage.support_case(job(JobKind.SUPPORT_CASE, {"number": 1}, user="333", key="6002"))["supporting"]
        is False
    )


def test_a_closed_feature_request_takes_no_more_support(world: Any) -> None:
    triage, service, discord = world
    triage.update_case(job(JobKind.UPDATE_CASE, STATUS, roles=(STAFF_ROLE,)))
    triage.support_case(job(JobKind.SUPPORT_CASE, {"number": 1}, user="333", key="6003"))
    assert service.find(GUILD, 1).supporters == ()
    assert discord.replies[-1] == "#1 is resolved: it takes no more support."
