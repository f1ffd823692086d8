"""Duplicate suggestions (jobs/duplicate_check.py) on in-memory fakes: the question, each answer,
who may answer, and exactly-once under double delivery. The ranking itself is tested in
test_similar_cases.py; the buttons' routes at the end of this file."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from flexcord.cases.model import CaseDraft, CaseKind, CaseSection, CaseStatus, Reporter
from flexcord.cases.pending import DRAFT_TTL_SECONDS, FILE_MINE, Offered, PendingDraft
from flexcord.cases.service import Actor, CaseService
from flexcord.jobs.case_jobs import CaseJobs
from flexcord.jobs.case_posts import CasePosts
from flexcord.jobs.duplicate_check import (
    BUTTON_LABEL_MAX,
    CHECKED,
    EXPIRED,
    NOT_OFFERED,
    NOT_YOURS,
    DuplicateCheck,
    buttons,
)
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.payloads import draft_to_payload
from flexcord.servers.settings import ServerDirectory, ServerSettings
from tests.unit.fakes import InMemoryCaseRepository, InMemoryServerSettings, RecordingQueue
from tests.unit.test_interactions_endpoint import call, interaction, make_endpoint

NOW = 1_796_000_000.0
GUILD = "g1"

RAID_BUG = (
    "Raid lobby freezes after the countdown",
    (
        "When the countdown in the raid lobby reaches zero the screen freezes.",
        "1. Join a raid 2. Wait for the timer",
        "Expected the battle; I have to restart the app.",
    ),
)
SAME_RAID_BUG = (
    "Game freezes when the raid countdown ends",
    (
        "At the end of the raid timer my game just freezes.",
        "Join any raid lobby and wait",
        "Battle should start but the game is frozen.",
    ),
)
OTHER_BUG = (
    "Sound stops after a phone call",
    (
        "After taking a call the game has no sound until I restart it.",
        "Take a call while playing",
        "Expected sound to come back.",
    ),
)


class InMemoryPendingDrafts:
    """The DynamoDB adapter's semantics: keep only once, the first press's choice wins."""

    def __init__(self) -> None:
        self.drafts: dict[str, PendingDraft] = {}

    def keep(self, pending: PendingDraft) -> PendingDraft:
        return self.drafts.setdefault(pending.draft_id, pending)

    def get(self, draft_id: str) -> PendingDraft | None:
        return self.drafts.get(draft_id)

    def decide(self, draft_id: str, choice: int, *, press_id: str) -> PendingDraft | None:
        stored = self.drafts.get(draft_id)
        if stored is None:
            return None
        if stored.decided_by in ("", press_id):
            stored = self.drafts[draft_id] = replace(stored, choice=choice, decided_by=press_id)
        return stored


class FakeDiscord:
    """What the flow and CaseJobs use: the member's reply, and posting a case."""

    def __init__(self) -> None:
        self.replies: dict[str, dict[str, Any]] = {}
        self.posts: list[tuple[str, str | None]] = []

    def edit_original_response(
        self, token: str, *, content: str | None = None, components: Any = (), **_: Any
    ) -> dict[str, Any]:
        self.replies[token] = {"content": content or "", "components": list(components or [])}
        return {}

    def create_message(self, channel_id: str, *, nonce: str | None = None, **_: Any) -> list[dict[str, Any]]:
        self.posts.append((channel_id, nonce))
        return [{"id": f"m{len(self.posts)}", "attachments": []}]

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        return {"id": channel_id, "type": 0}

    def start_thread_from_message(self, channel_id: str, message_id: str, **_: Any) -> dict[str, Any]:
        return {"id": message_id}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self) -> None:
        self.repository = InMemoryCaseRepository()
        self.service = CaseService(self.repository, clock=lambda: "2026-12-03T10:00:00+00:00")
        self.discord = FakeDiscord()
        self.drafts = InMemoryPendingDrafts()
        self.clock = Clock()
        self.check = DuplicateCheck(self.service, self.discord, self.drafts, clock=self.clock)  # type: ignore[arg-type]
        servers = ServerDirectory(
            InMemoryServerSettings(),
            defaults=ServerSettings(
                guild_id=GUILD, bug_report_channel_id="bugs", feature_request_channel_id="ideas"
            ),
        )
        posts = CasePosts(self.service, self.discord, servers)  # type: ignore[arg-type]
        self.cases = CaseJobs(self.service, self.discord, servers, posts, duplicates=self.check)  # type: ignore[arg-type]
        self.choose = partial(self.check.choose, file_case=self.cases.create_case)
        self._ids = 1000

    def context(self, user: str, *, guild: str | None = GUILD) -> InteractionContext:
        self._ids += 1
        return InteractionContext(
            interaction_id=str(self._ids),
            application_id="app",
            token=f"token-{self._ids}",
            user_id=f"u-{user}",
            username=user,
            display_name=user.title(),
            roles=(),
            guild_id=guild,
            channel_id="general",
            locale="en-US",
        )

    def submit(
        self,
        user: str,
        report: tuple[str, tuple[str, ...]],
        *,
        kind: CaseKind = CaseKind.BUG,
        guild: str | None = GUILD,
    ) -> tuple[Job, dict[str, Any]]:
        context = self.context(user, guild=guild)
        title, texts = report
        draft = CaseDraft(
            kind=kind,
            title=title,
            sections=tuple(CaseSection(f"Part {i}", text) for i, text in enumerate(texts)),
            reporter=Reporter(context.user_id, user, user.title()),
            guild_id=guild,
            channel_id="general",
        )
        job = Job.for_interaction(JobKind.CREATE_CASE, context, draft_to_payload(draft))
        return job, self.cases.create_case(job)

    def press(self, user: str, draft_id: str, choice: int) -> tuple[Job, dict[str, Any]]:
        job = Job.for_interaction(
            JobKind.DUPLICATE_CHOICE, self.context(user), {"draft": draft_id, "choice": choice}
        )
        return job, self.choose(job)

    def reply(self, job: Job) -> dict[str, Any]:
        return self.discord.replies[job.interaction.token]

    def custom_ids(self, job: Job) -> list[str]:
        return [button["custom_id"] for row in self.reply(job)["components"] for button in row["components"]]

    def case_count(self) -> int:
        return len(self.repository.cases)


@pytest.fixture
def world() -> World:
    return World()


def offered(world: World) -> tuple[Job, str]:
    """alice's open raid bug (#1), and bob's report of the same problem, held with a question."""
    world.submit("alice", RAID_BUG)
    job, result = world.submit("bob", SAME_RAID_BUG)
    assert result == {"draft": job.key, "offered": [1]}
    return job, job.key


def test_a_report_like_no_open_case_is_filed_at_once(world: World) -> None:
    job, result = world.submit("alice", RAID_BUG)
    assert result["case"] == 1
    assert world.reply(job)["content"].startswith("✅ Thanks! Your bug report is filed as **case #1**")
    _, other = world.submit("bob", OTHER_BUG)
    assert other["case"] == 2
    assert world.drafts.drafts == {}
    assert len(world.discord.posts) == 2


def test_a_report_like_an_open_case_is_held_and_the_member_asked(world: World) -> None:
    job, draft_id = offered(world)
    reply = world.reply(job)
    assert reply["content"].startswith("🔎 **Is it one of these?**")
    assert "• **#1** Raid lobby freezes after the countdown" in reply["content"]
    assert world.custom_ids(job) == [f"dupe:pick:{draft_id}:1", f"dupe:file:{draft_id}"]
    labels = [b["label"] for b in reply["components"][0]["components"]]
    assert labels == ["#1 · Raid lobby freezes after the countdown", "No, file mine"]
    assert world.case_count() == 1  # nothing filed yet
    held = world.drafts.drafts[draft_id]
    assert held.draft.reporter.user_id == "u-bob"
    assert held.offered == (Offered(1, "Raid lobby freezes after the countdown"),)
    assert held.expires_at == int(NOW) + DRAFT_TTL_SECONDS
    assert held.choice is None


def test_picking_a_case_counts_the_member_on_it_once_however_often_they_press(world: World) -> None:
    _, draft_id = offered(world)
    press, result = world.press("bob", draft_id, 1)
    assert result == {"draft": draft_id, "counted_on": 1, "supporters": 1}
    assert world.reply(press)["content"].startswith("👍 You're now counted on **#1** “Raid lobby freezes")
    assert "2 members have reported it" in world.reply(press)["content"]
    assert world.reply(press)["components"] == []  # the question's buttons are gone
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert case.supporters == ("u-bob",)
    [event] = [e for e in case.history if e.action == "supporters_added"]
    assert event.event_id == press.key
    # The same press delivered again, and the button pressed again: counted once.
    world.choose(press)
    again, _ = world.press("bob", draft_id, 1)
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert case.supporters == ("u-bob",)
    assert [e.action for e in case.history].count("supporters_added") == 1
    assert world.reply(again)["content"].startswith("👍 You're now counted on **#1**")
    assert world.case_count() == 1


def test_no_file_mine_files_the_report_once_however_often_it_is_pressed(world: World) -> None:
    _, draft_id = offered(world)
    press, result = world.press("bob", draft_id, FILE_MINE)
    assert result["filed"]["case"] == 2
    assert world.reply(press)["content"].startswith("✅ Thanks! Your bug report is filed as **case #2**")
    case = world.service.find(GUILD, 2)
    assert case is not None
    assert case.reporter.user_id == "u-bob"
    assert case.title == SAME_RAID_BUG[0]
    assert case.source_id == draft_id  # filed as the submit asked
    world.choose(press)  # the same press, delivered twice
    again, second = world.press("bob", draft_id, FILE_MINE)
    assert second["filed"]["case"] == 2
    assert world.case_count() == 2
    assert world.discord.posts == [("bugs", f"case-{GUILD[-8:]}-1"), ("bugs", f"case-{GUILD[-8:]}-2")]
    assert world.reply(again)["content"].startswith("✅ Thanks! Your bug report is filed as **case #2**")


def test_the_first_choice_counts_and_the_other_button_repeats_it(world: World) -> None:
    _, draft_id = offered(world)
    world.press("bob", draft_id, 1)
    other, result = world.press("bob", draft_id, FILE_MINE)
    assert result["counted_on"] == 1
    assert world.case_count() == 1
    assert world.reply(other)["content"].startswith("👍 You're now counted on **#1**")

    # And the other way round.
    carols, _ = world.submit("carol", SAME_RAID_BUG)
    world.press("carol", carols.key, FILE_MINE)
    later, result = world.press("carol", carols.key, 1)
    assert result["filed"]["case"] == 2
    assert world.reply(later)["content"].startswith("✅ Thanks! Your bug report is filed as **case #2**")
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert "u-carol" not in case.supporters


def test_another_members_press_or_a_crafted_id_changes_nothing(world: World) -> None:
    _, draft_id = offered(world)
    before = dict(world.repository.cases)
    # mallory crafts bob's ids: pick and file.
    for choice in (1, FILE_MINE):
        press, result = world.press("mallory", draft_id, choice)
        assert result == {"draft": draft_id, "refused": "not the reporter"}
        assert world.reply(press)["content"] == NOT_YOURS
    # bob crafts a case that was not offered (a feature request of the server's).
    world.submit(
        "alice", ("Dark mode for the map", ("Bright at night.", "A dark theme.")), kind=CaseKind.FEATURE
    )
    before = dict(world.repository.cases)
    press, result = world.press("bob", draft_id, 2)
    assert result == {"draft": draft_id, "refused": "not offered"}
    assert world.reply(press)["content"] == NOT_OFFERED
    assert world.custom_ids(press) == [f"dupe:pick:{draft_id}:1", f"dupe:file:{draft_id}"]
    assert world.repository.cases == before
    assert world.drafts.drafts[draft_id].choice is None
    # bob's own answer still works afterwards.
    assert world.press("bob", draft_id, 1)[1]["counted_on"] == 1


def test_an_expired_or_unknown_draft_gets_a_clear_message_and_changes_nothing(world: World) -> None:
    _, draft_id = offered(world)
    world.clock.now = NOW + DRAFT_TTL_SECONDS  # DynamoDB's TTL deletes late: the clock decides
    for choice in (1, FILE_MINE):
        press, result = world.press("bob", draft_id, choice)
        assert result == {"draft": draft_id, "refused": "expired"}
        assert world.reply(press)["content"] == EXPIRED
    assert world.case_count() == 1
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert case.supporters == ()
    world.clock.now = NOW + DRAFT_TTL_SECONDS - 1
    press, result = world.press("bob", "999999", 1)
    assert result["refused"] == "expired"
    assert world.press("bob", draft_id, 1)[1]["counted_on"] == 1  # a second before: still there


def test_a_case_closed_since_the_question_is_not_counted_and_the_member_can_file(world: World) -> None:
    _, draft_id = offered(world)
    world.service.move(GUILD, 1, CaseStatus.RESOLVED, actor=Actor("mod", "Mod"), event_id="e1")
    press, result = world.press("bob", draft_id, 1)
    assert result == {"draft": draft_id, "refused": "closed"}
    assert world.reply(press)["content"].startswith("Case #1 has been closed since (resolved).")
    assert f"dupe:file:{draft_id}" in world.custom_ids(press)
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert case.supporters == ()
    assert world.press("bob", draft_id, FILE_MINE)[1]["filed"]["case"] == 2


def test_only_open_cases_of_the_same_kind_and_server_are_offered(world: World) -> None:
    world.submit("alice", RAID_BUG)
    world.service.move(GUILD, 1, CaseStatus.WONT_FIX, actor=Actor("mod", "Mod"), event_id="e1")
    assert world.submit("bob", SAME_RAID_BUG)[1]["case"] == 2  # #1 is closed
    assert world.submit("carol", SAME_RAID_BUG, kind=CaseKind.FEATURE)[1]["case"] == 3  # a feature
    assert world.submit("dave", SAME_RAID_BUG, guild="g2")[1]["case"] == 1  # another server
    # In g1, #2 is open and like it now.
    assert world.submit("erin", RAID_BUG)[1]["offered"] == [2]


def test_a_feature_request_like_an_open_one_counts_the_member_as_wanting_it(world: World) -> None:
    world.submit(
        "alice",
        ("Trade history for the last 30 days", ("I forget my trades.", "A list of my trades.")),
        kind=CaseKind.FEATURE,
    )
    job, result = world.submit(
        "bob", ("Show my trade history", ("Who did I trade with?", "A trade history.")), kind=CaseKind.FEATURE
    )
    assert result["offered"] == [1]
    assert "something like your feature request" in world.reply(job)["content"]
    press, _ = world.press("bob", job.key, 1)
    assert world.reply(press)["content"].startswith(
        "👍 You're now counted on **#1** “Trade history for the last 30 days”: 2 members want it."
    )


def test_the_members_own_open_cases_are_not_offered(world: World) -> None:
    world.submit("alice", RAID_BUG)
    assert world.submit("alice", SAME_RAID_BUG)[1]["case"] == 2  # she knows her own (/mycases)
    job, result = world.submit("bob", SAME_RAID_BUG)
    assert result["offered"] == [2, 1]  # most similar first
    assert world.custom_ids(job)[:2] == [f"dupe:pick:{job.key}:2", f"dupe:pick:{job.key}:1"]


def test_a_report_from_the_bots_dms_is_compared_with_the_default_servers_cases() -> None:
    world = World()
    world.service = CaseService(
        world.repository, clock=lambda: "2026-12-03T10:00:00+00:00", default_server=GUILD
    )
    world.check = DuplicateCheck(world.service, world.discord, world.drafts, clock=world.clock)  # type: ignore[arg-type]
    posts = CasePosts(world.service, world.discord, world.cases._servers)  # type: ignore[arg-type]
    world.cases = CaseJobs(world.service, world.discord, world.cases._servers, posts, duplicates=world.check)  # type: ignore[arg-type]
    world.choose = partial(world.check.choose, file_case=world.cases.create_case)
    world.submit("alice", RAID_BUG)
    job, result = world.submit("bob", SAME_RAID_BUG, guild=None)
    assert result["offered"] == [1]
    world.press("bob", job.key, 1)
    case = world.service.find(GUILD, 1)
    assert case is not None
    assert case.supporters == ("u-bob",)


def test_a_redelivered_submit_asks_once_and_never_undoes_an_answer(world: World) -> None:
    job, draft_id = offered(world)
    assert world.cases.create_case(job) == {"draft": draft_id, "offered": [1]}
    world.press("bob", draft_id, 1)
    token = job.interaction.token
    world.discord.replies.pop(token)
    assert world.cases.create_case(job) == {"draft": draft_id, "offered": [1], "answered": True}
    assert token not in world.discord.replies  # the answer on screen is left alone
    assert world.case_count() == 1


def test_a_submit_retried_after_its_case_was_filed_is_not_offered_its_own_case(world: World) -> None:
    job, _ = world.submit("alice", RAID_BUG)
    assert world.cases.create_case(job)["case"] == 1  # e.g. the post failed and the job came back
    assert world.drafts.drafts == {}


def test_a_report_asked_about_once_is_filed_without_asking_again(world: World) -> None:
    world.submit("alice", RAID_BUG)
    job, _ = world.submit("bob", SAME_RAID_BUG)
    checked = replace(job, payload={**job.payload, CHECKED: True})
    assert world.cases.create_case(checked)["case"] == 2


def test_when_the_check_fails_the_report_is_filed_as_before(world: World) -> None:
    world.submit("alice", RAID_BUG)

    def broken() -> Any:
        raise RuntimeError("index broke")

    world.check._background = broken
    _job, result = world.submit("bob", SAME_RAID_BUG)
    assert result["case"] == 2
    assert world.drafts.drafts == {}


def test_buttons_fit_discords_limits() -> None:
    long_title = "A" * 100
    pending = PendingDraft(
        draft_id="123",
        draft=CaseDraft(CaseKind.BUG, "t", (), Reporter("u", "u", "U"), GUILD, None),
        offered=(Offered(12, long_title), Offered(7, "Short"), Offered(3, "Three")),
        expires_at=0,
    )
    [row] = buttons(pending)
    assert len(row["components"]) == 4
    labels = [button["label"] for button in row["components"]]
    assert all(len(label) <= BUTTON_LABEL_MAX for label in labels)
    assert labels[0].startswith("#12 · AAAA")
    assert labels[0].endswith("…")
    assert all(len(button["custom_id"]) <= 100 for button in row["components"])


# -- the buttons at the endpoint ------------------------------------------------------------------


def component(custom_id: str) -> dict[str, Any]:
    return interaction(3, {"custom_id": custom_id, "component_type": 2})


def test_a_press_on_the_question_is_queued_and_answered_with_a_deferred_update() -> None:
    queue = RecordingQueue()
    endpoint = make_endpoint(queue)
    assert call(endpoint, component("dupe:pick:1234567890123456789:12"))[1] == {"type": 6}
    assert call(endpoint, component("dupe:file:1234567890123456789"))[1] == {"type": 6}
    assert [(job.kind, job.payload) for job in queue.jobs] == [
        (JobKind.DUPLICATE_CHOICE, {"draft": "1234567890123456789", "choice": 12}),
        (JobKind.DUPLICATE_CHOICE, {"draft": "1234567890123456789", "choice": FILE_MINE}),
    ]


@pytest.mark.parametrize(
    "custom_id",
    [
        "dupe:pick:123:0",
        "dupe:pick:123:",
        "dupe:pick:123",
        "dupe:pick:abc:1",
        "dupe:pick::1",
        "dupe:pick:123:1:2",
        "dupe:pick:123:²",
        "dupe:file:",
        "dupe:file:12a",
        "dupe:file:123:1",
    ],
)
def test_a_malformed_press_is_refused_at_the_endpoint_and_queues_nothing(custom_id: str) -> None:
    queue = RecordingQueue()
    status, body = call(make_endpoint(queue), component(custom_id))
    assert status == 200
    assert body["type"] == 4
    assert body["data"]["content"] == "This button no longer does anything. Please run the command again."
    assert queue.jobs == []
