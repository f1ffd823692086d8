"""/announce: the endpoint's decisions over signed payloads, and the worker's draft, Post and
Cancel over in-memory drafts and a fake Discord. Who may announce is checked at both."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from flexcord.announcements.model import AnnouncementDraft
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.jobs.announcement_jobs import AnnounceFlow, AnnouncementJobs
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.servers.settings import MANAGE_SERVER, ServerDirectory
from tests.support.signing import TEST_PUBLIC_KEY, http_event, signed_headers
from tests.unit.fakes import InMemoryScheduledAnnouncements, InMemoryServerSettings, RecordingQueue
from tests.unit.test_announcement_jobs import GUILD, NEWS, TEXT, FakeDiscord, InMemoryAnnouncementLog

NOW = 1_790_000_000
ADMIN = str(MANAGE_SERVER)
STAFF_ROLE, OTHER_ROLE = "77", "88"
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5
DEFERRED_MESSAGE, DEFERRED_UPDATE, MESSAGE, MODAL = 5, 6, 4, 9


# -- the endpoint ------------------------------------------------------------------------------


def payload(
    kind: int,
    data: dict[str, Any],
    *,
    permissions: str = ADMIN,
    roles: list[str] | None = None,
    guild: str | None = GUILD,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "1300000000000000001",
        "application_id": "1200000000000000000",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "901",
        "locale": "en-GB",
        "data": data,
        **extra,
    }
    user = {"id": "111", "username": "alice", "global_name": "Alice"}
    if guild is None:
        body["user"] = user
    else:
        body["guild_id"] = guild
        body["member"] = {"user": user, "roles": roles or [], "permissions": permissions}
    return body


def call(queue: RecordingQueue, body: dict[str, Any]) -> dict[str, Any]:
    endpoint = InteractionsEndpoint(public_key=TEST_PUBLIC_KEY, queue=lambda: queue, clock=lambda: NOW)
    raw = json.dumps(body).encode()
    result = endpoint.handle(http_event(raw, signed_headers(raw, timestamp=NOW)))
    assert result["statusCode"] == 200
    answer: dict[str, Any] = json.loads(result["body"])
    return answer


def command(**kwargs: Any) -> dict[str, Any]:
    return payload(APPLICATION_COMMAND, {"id": "5", "name": "announce", "type": 1}, **kwargs)


def submission(
    values: dict[str, str],
    *,
    role: list[str] | None = None,
    image: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": 18, "component": {"type": 4, "custom_id": key, "value": value}}
        for key, value in values.items()
    ]
    components.append({"type": 18, "component": {"type": 6, "custom_id": "role", "values": role or []}})
    data: dict[str, Any] = {"custom_id": "announce:form", "components": components}
    if image is not None:
        components.append({"type": 18, "component": {"type": 19, "custom_id": "image", "values": ["5"]}})
        data["resolved"] = {"attachments": {"5": {"id": "5", "filename": "a", "size": 10, **image}}}
    return payload(MODAL_SUBMIT, data, **kwargs)


def button(custom_id: str, message: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return payload(
        MESSAGE_COMPONENT,
        {"custom_id": custom_id, "component_type": 2},
        message=message or {"id": "1", "content": "", "embeds": []},
        **kwargs,
    )


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def test_the_command_opens_the_form(queue: RecordingQueue) -> None:
    answer = call(queue, command())
    assert answer["type"] == MODAL
    assert answer["data"]["custom_id"] == "announce:form"
    kinds = [row["component"]["type"] for row in answer["data"]["components"]]
    assert kinds == [4, 4, 19, 6, 4]  # title, text, picture, role select, when
    assert queue.jobs == []


def test_a_member_with_a_role_may_open_it_the_worker_checks_the_role(queue: RecordingQueue) -> None:
    assert call(queue, command(permissions="0", roles=[OTHER_ROLE]))["type"] == MODAL


@pytest.mark.parametrize("guild", [GUILD, None])
def test_a_member_without_manage_server_nor_role_is_refused(queue: RecordingQueue, guild: str | None) -> None:
    answer = call(queue, command(permissions="0", guild=guild))
    assert answer["type"] == MESSAGE
    assert answer["data"]["flags"] == 64
    assert queue.jobs == []
    answer = call(queue, submission({"title": "t", "text": "x"}, permissions="0", guild=guild))
    assert answer["type"] == MESSAGE
    assert queue.jobs == []


def test_the_form_queues_a_draft(queue: RecordingQueue) -> None:
    answer = call(
        queue,
        submission(
            {"title": " v2 ", "text": "news", "when": " in 2h "},
            role=[STAFF_ROLE],
            image={"url": "https://cdn/a.png", "content_type": "image/png"},
        ),
    )
    assert answer == {"type": DEFERRED_MESSAGE, "data": {"flags": 64}}
    [job] = queue.jobs
    assert job.kind is JobKind.ANNOUNCE_DRAFT
    assert job.payload == {
        "title": "v2",
        "text": "news",
        "image_url": "https://cdn/a.png",
        "role_id": STAFF_ROLE,
        "when": "in 2h",  # read by the worker, in the server's time zone
    }


def test_list_and_cancel_are_queued_for_the_worker_and_a_bad_id_is_refused(queue: RecordingQueue) -> None:
    def subcommand(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        sub: dict[str, Any] = {"type": 1, "name": name, "options": options or []}
        data = {"id": "5", "name": "announce", "type": 1, "options": [sub]}
        return payload(APPLICATION_COMMAND, data)

    assert call(queue, subcommand("list")) == {"type": DEFERRED_MESSAGE, "data": {"flags": 64}}
    cancel = subcommand("cancel", [{"type": 3, "name": "id", "value": " `1234567` "}])
    assert call(queue, cancel) == {"type": DEFERRED_MESSAGE, "data": {"flags": 64}}
    assert [(job.kind, job.payload) for job in queue.jobs] == [
        (JobKind.ANNOUNCE_LIST, {}),
        (JobKind.ANNOUNCE_CANCEL, {"id": "1234567"}),
    ]
    bad = call(queue, subcommand("cancel", [{"type": 3, "name": "id", "value": "drop table"}]))
    assert bad["type"] == MESSAGE
    assert "like `/announce cancel id:" in bad["data"]["content"]
    assert len(queue.jobs) == 2
    assert call(queue, subcommand("new"))["type"] == MODAL


def test_a_file_that_is_not_an_image_or_an_empty_text_is_refused(queue: RecordingQueue) -> None:
    answer = call(
        queue, submission({"title": "v2", "text": "x"}, image={"url": "u", "content_type": "text/plain"})
    )
    assert "must be an image" in answer["data"]["content"]
    answer = call(queue, submission({"title": "v2", "text": "   "}))
    assert "needs a title and a text" in answer["data"]["content"]
    assert queue.jobs == []


@pytest.mark.parametrize("action", ["post", "cancel"])
def test_post_and_cancel_queue_a_decision(queue: RecordingQueue, action: str) -> None:
    assert call(queue, button(f"announce:{action}:42")) == {"type": DEFERRED_UPDATE}
    [job] = queue.jobs
    assert (job.kind, job.payload) == (JobKind.ANNOUNCE_DECIDE, {"draft_id": "42", "action": action})


@pytest.mark.parametrize("custom_id", ["announce:post:", "announce:publish:42", "announce:post:4x"])
def test_a_malformed_button_queues_nothing(queue: RecordingQueue, custom_id: str) -> None:
    assert call(queue, button(custom_id))["type"] == MESSAGE
    assert queue.jobs == []


def test_edit_reopens_the_form_from_the_preview(queue: RecordingQueue) -> None:
    preview = {
        "id": "1",
        "content": f"**Preview**\n<@&{STAFF_ROLE}>",
        "embeds": [{"title": "v2", "description": "news"}],
    }
    answer = call(queue, button("announce:edit:42", preview))
    assert answer["type"] == MODAL
    inputs = {row["component"]["custom_id"]: row["component"] for row in answer["data"]["components"]}
    assert inputs["title"]["value"] == "v2"
    assert inputs["text"]["value"] == "news"
    assert inputs["role"]["default_values"] == [{"id": STAFF_ROLE, "type": "role"}]
    assert queue.jobs == []


# -- the worker --------------------------------------------------------------------------------


class InMemoryDrafts:
    def __init__(self) -> None:
        self.items: dict[str, AnnouncementDraft] = {}

    def keep(self, draft: AnnouncementDraft) -> AnnouncementDraft:
        return self.items.setdefault(draft.draft_id, draft)

    def get(self, draft_id: str) -> AnnouncementDraft | None:
        return self.items.get(draft_id)

    def claim(self, draft_id: str, *, press_id: str) -> AnnouncementDraft | None:
        draft = self.items.get(draft_id)
        if draft is not None and draft.used_by is None:
            draft = self.items[draft_id] = replace(draft, used_by=press_id)
        return draft

    def release(self, draft_id: str, *, press_id: str) -> None:
        draft = self.items.get(draft_id)
        if draft is not None and draft.used_by == press_id:
            self.items[draft_id] = replace(draft, used_by=None)

    def drop(self, draft_id: str) -> None:
        self.items.pop(draft_id, None)


class Discord(FakeDiscord):
    def __init__(self) -> None:
        super().__init__()
        self.previews: list[dict[str, Any]] = []
        self.followups: list[str] = []

    def edit_original_response(
        self, token: str, *, content: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        self.previews.append({"content": content, **fields})
        return super().edit_original_response(token, content=content)

    def create_followup(self, token: str, *, content: str | None = None, **_: Any) -> list[dict[str, Any]]:
        self.followups.append(content or "")
        return []


def context(
    interaction_id: str, user_id: str = "111", *, roles: tuple[str, ...] = (), permissions: str = ADMIN
) -> InteractionContext:
    return InteractionContext(
        interaction_id=interaction_id,
        application_id="1",
        token=f"tok-{interaction_id}",
        user_id=user_id,
        username="u",
        display_name="U",
        roles=roles,
        guild_id=GUILD,
        channel_id=TEXT,
        locale="en-GB",
        permissions=permissions,
    )


@pytest.fixture
def world() -> tuple[AnnounceFlow, InMemoryDrafts, Discord, InMemoryServerSettings]:
    settings = InMemoryServerSettings()
    settings.update(GUILD, {"announcements_channel_id": NEWS, "staff_role_id": STAFF_ROLE})
    servers = ServerDirectory(settings, defaults=None)
    discord = Discord()
    drafts = InMemoryDrafts()
    schedule = InMemoryScheduledAnnouncements()
    poster = AnnouncementJobs(servers, discord, InMemoryAnnouncementLog(), schedule)  # type: ignore[arg-type]
    flow = AnnounceFlow(
        servers, discord, drafts, poster, schedule, clock=lambda: datetime.fromtimestamp(NOW, UTC)
    )  # type: ignore[arg-type]
    return flow, drafts, discord, settings


def draft_job(ctx: InteractionContext, **payload: Any) -> Job:
    body = {"title": "v2", "text": "news", "image_url": None, "role_id": STAFF_ROLE, **payload}
    return Job.for_interaction(JobKind.ANNOUNCE_DRAFT, ctx, body)


def decide(ctx: InteractionContext, draft_id: str, action: str = "post") -> Job:
    return Job.for_interaction(JobKind.ANNOUNCE_DECIDE, ctx, {"draft_id": draft_id, "action": action})


def test_the_preview_shows_the_post_as_it_will_look(world: Any) -> None:
    flow, drafts, discord, _ = world
    flow.draft(draft_job(context("500")))
    [preview] = discord.previews
    assert preview["content"] == f"**Preview** — this is how it will look in <#{NEWS}>.\n<@&{STAFF_ROLE}>"
    [row] = preview["components"]
    assert [b["custom_id"] for b in row["components"]] == [
        "announce:post:500",
        "announce:edit:500",
        "announce:cancel:500",
    ]
    assert drafts.items["500"].author_id == "111"
    assert drafts.items["500"].expires_at == NOW + 24 * 3600
    flow.decide(decide(context("501"), "500"))
    [post] = discord.posts
    assert post["embeds"] == preview["embeds"]
    assert post["content"] == f"<@&{STAFF_ROLE}>"
    assert discord.replies[-1] == f"✅ Posted in <#{NEWS}> and published to the servers that follow it."


def test_the_staff_role_may_announce_and_other_roles_may_not(world: Any) -> None:
    flow, drafts, discord, _ = world
    assert flow.draft(draft_job(context("500", roles=(STAFF_ROLE,), permissions="0"))) == {"draft_id": "500"}
    assert flow.draft(draft_job(context("600", roles=("88",), permissions="0"))) == {"refused": True}
    assert set(drafts.items) == {"500"}
    assert discord.replies[-1].startswith("⚠️ Only this server's staff")


def test_only_the_author_may_post_or_cancel(world: Any) -> None:
    flow, drafts, discord, _ = world
    flow.draft(draft_job(context("500")))
    for action in ("post", "cancel"):
        assert flow.decide(decide(context("502", user_id="222"), "500", action)) == {"refused": True}
    assert discord.posts == []
    assert drafts.items["500"].used_by is None
    assert discord.followups[0].startswith("⚠️ Only the author")


def test_a_staff_member_who_lost_the_role_cannot_post(world: Any) -> None:
    flow, _, discord, _ = world
    flow.draft(draft_job(context("500", roles=(STAFF_ROLE,), permissions="0")))
    assert flow.decide(decide(context("501", roles=(), permissions="0"), "500")) == {"refused": True}
    assert discord.posts == []


def test_posting_twice_posts_once(world: Any) -> None:
    flow, _, discord, _ = world
    flow.draft(draft_job(context("500")))
    flow.decide(decide(context("501"), "500"))
    assert flow.decide(decide(context("503"), "500")) == {"already": True}
    assert len(discord.posts) == 1
    assert discord.replies[-1] == "This announcement was already posted."
    # The first press's job delivered again: it finds its post and posts nothing more.
    flow.decide(replace(decide(context("501"), "500"), attempt=2))
    assert len(discord.posts) == 1


def test_cancel_drops_the_draft_and_an_expired_draft_does_nothing(world: Any) -> None:
    flow, drafts, discord, _ = world
    flow.draft(draft_job(context("500")))
    flow.decide(decide(context("501"), "500", "cancel"))
    assert drafts.items == {}
    assert discord.replies[-1] == "Announcement cancelled; nothing was posted."
    flow.decide(decide(context("502"), "500"))
    assert discord.posts == []
    assert discord.replies[-1].startswith("⚠️ This announcement draft has expired")
    flow.draft(draft_job(context("510")))
    drafts.items["510"] = replace(drafts.items["510"], expires_at=NOW)
    assert flow.decide(decide(context("511"), "510")) == {"refused": True}
    assert discord.posts == []


def test_without_an_announcements_channel_nothing_is_posted_and_post_works_later(world: Any) -> None:
    flow, drafts, discord, settings = world
    settings.update(GUILD, {"announcements_channel_id": None})
    flow.draft(draft_job(context("500")))
    assert "pick one with `/setup`" in discord.previews[-1]["content"]
    assert flow.decide(decide(context("501"), "500"))["refused"] is True
    assert discord.posts == []
    assert drafts.items["500"].used_by is None
    settings.update(GUILD, {"announcements_channel_id": TEXT})
    flow.decide(decide(context("502"), "500"))
    assert [post["channel_id"] for post in discord.posts] == [TEXT]
