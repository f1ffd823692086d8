"""Review first over in-memory reviews and a fake Discord: the poster hands a review-first
announcement to staff instead of posting it, the review message shows it as it will be posted,
only staff of its server decide, the first press decides once, a retried deciding job finishes its
post, and Edit changes what is posted. The endpoint's side is at the end."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from flexcord.adapters.discord import NO_MENTIONS, DiscordApiError
from flexcord.adapters.discord.snowflake import snowflake_time
from flexcord.announcements.model import announcement_embed, announcement_nonce
from flexcord.announcements.review import ReviewState, review_nonce
from flexcord.announcements.webhook import WebhookAnnouncement, announcement_job
from flexcord.config import ConfigurationError, announcements_webhook_review_first
from flexcord.interactions import custom_ids as ids
from flexcord.jobs.announcement_jobs import AnnouncementJobs
from flexcord.jobs.announcement_review import ReviewFlow
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.servers.settings import ServerDirectory
from tests.unit.fakes import (
    InMemoryAnnouncementReviews,
    InMemoryScheduledAnnouncements,
    InMemoryServerSettings,
    RecordingQueue,
)
from tests.unit.test_announce_routes import MESSAGE, MODAL, button, call, payload
from tests.unit.test_announcement_jobs import (
    GUILD,
    NEWS,
    OTHER_GUILD,
    TEXT,
    FakeDiscord,
    InMemoryAnnouncementLog,
)

STAFF_CHANNEL, STAFF_ROLE, ROLE_TO_PING = "701", "77", "66"
WEBHOOK_ID = "0f" * 12  # a webhook announcement id: 24 hex characters
FEED_ID = f"feed-{'9' * 20}-{'ab' * 12}"  # a feed entry's: feed-<feed id>-<24 hex>
#: Discord interaction ids (snowflakes): each carries the moment it was made.
FIRST_PRESS, SECOND_PRESS, THIRD_PRESS = "1300000000000000001", "1300000000000000002", "1300000000000000003"


class Discord(FakeDiscord):
    """FakeDiscord with message edits (applied to the posted message) and private follow-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.edit_failure: Exception | None = None

    def edit_message(self, channel_id: str, message_id: str, **fields: Any) -> dict[str, Any]:
        if self.edit_failure is not None:
            raise self.edit_failure
        self.edits.append({"channel_id": channel_id, "message_id": message_id, **fields})
        [message] = [m for m in self.posts if m["id"] == message_id]
        message.update({name: value for name, value in fields.items() if value is not None})
        return message

    def create_followup(self, token: str, **fields: Any) -> list[dict[str, Any]]:
        self.followups.append({"token": token, **fields})
        return []

    def in_channel(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.posts if m["channel_id"] == channel_id]


class World:
    def __init__(self) -> None:
        self.settings = InMemoryServerSettings()
        self.settings.update(
            GUILD,
            {
                "announcements_channel_id": TEXT,
                "staff_role_id": STAFF_ROLE,
                "staff_channel_id": STAFF_CHANNEL,
            },
        )
        servers = ServerDirectory(self.settings, defaults=None)
        self.discord = Discord()
        self.discord.channels[STAFF_CHANNEL] = {"id": STAFF_CHANNEL, "type": 0, "guild_id": GUILD}
        self.log = InMemoryAnnouncementLog()
        self.reviews = InMemoryAnnouncementReviews()
        self.poster = AnnouncementJobs(
            servers,
            self.discord,  # type: ignore[arg-type]
            self.log,
            InMemoryScheduledAnnouncements(),
            allowed_guild_ids=(GUILD, OTHER_GUILD),
            review=self.submit_for_review,
        )
        self.flow = ReviewFlow(servers, self.discord, self.reviews, post=self.poster.post)  # type: ignore[arg-type]

    def submit_for_review(self, job: Job) -> dict[str, Any]:
        return self.flow.submit(job)  # late-bound, as wiring.py does: each needs the other

    def review_message(self) -> dict[str, Any]:
        """The review message (the staff channel may also hold the poster's notices)."""
        [review] = self.reviews.items.values()
        [message] = [m for m in self.discord.in_channel(STAFF_CHANNEL) if m["id"] == review.message_id]
        return message

    def posts(self) -> list[dict[str, Any]]:
        return self.discord.in_channel(TEXT) + self.discord.in_channel(NEWS)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def recorded_metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from flexcord.jobs import announcement_review

    names: list[str] = []
    monkeypatch.setattr(announcement_review.metrics, "add_metric", lambda **kw: names.append(kw["name"]))
    return names


def post_job(announcement_id: str = WEBHOOK_ID, **changes: Any) -> Job:
    body: dict[str, Any] = {
        "announcement_id": announcement_id,
        "server": GUILD,
        "channel_id": None,
        "title": "Season 4 is live",
        "text": "Patch notes inside @everyone",
        "url": "https://example.com/s4",
        "image_url": "https://example.com/s4.png",
        "role_id": None,
        "source": "webhook",
        "author_id": None,
        "review_first": True,
        **changes,
    }
    return Job(
        JobKind.POST_ANNOUNCEMENT,
        key=f"announcement:{announcement_id}",
        group=f"announcements:{GUILD}",
        payload=body,
    )


def member(
    press: str = FIRST_PRESS,
    user_id: str = "111",
    *,
    roles: tuple[str, ...] = (STAFF_ROLE,),
    permissions: str = "0",
    guild: str | None = GUILD,
) -> InteractionContext:
    return InteractionContext(
        interaction_id=press,
        application_id="1",
        token=f"tok-{press}",
        user_id=user_id,
        username="u",
        display_name="U",
        roles=roles,
        guild_id=guild,
        channel_id=STAFF_CHANNEL,
        locale="en-GB",
        permissions=permissions,
    )


def decide(context: InteractionContext, action: str, announcement_id: str = WEBHOOK_ID) -> Job:
    return Job.for_interaction(
        JobKind.REVIEW_DECIDE, context, {"announcement_id": announcement_id, "action": action}
    )


def edit(context: InteractionContext, title: str, text: str, announcement_id: str = WEBHOOK_ID) -> Job:
    return Job.for_interaction(
        JobKind.REVIEW_EDIT, context, {"announcement_id": announcement_id, "title": title, "text": text}
    )


def at(press: str) -> str:
    return f"<t:{snowflake_time(press)}:f>"


# -- the poster hands it over --------------------------------------------------------------------


def test_a_review_first_announcement_goes_to_the_staff_channel_not_the_announcements_channel(
    world: World, recorded_metrics: list[str]
) -> None:
    result = world.poster.post(post_job())
    assert world.posts() == []
    assert world.log.items == {}
    message = world.review_message()
    assert result == {"review": "pending", "channel_id": STAFF_CHANNEL, "message_id": message["id"]}
    assert message["content"] == (
        f"📝 **Review first** — from the announcements webhook, to be posted in <#{TEXT}>."
    )
    # Exactly the embed the post will carry.
    assert message["embeds"] == [
        announcement_embed(
            title="Season 4 is live",
            text="Patch notes inside @everyone",
            url="https://example.com/s4",
            image_url="https://example.com/s4.png",
        )
    ]
    assert message["allowed_mentions"] == NO_MENTIONS
    [row] = message["components"]
    assert [(b["label"], b["style"], b["custom_id"]) for b in row["components"]] == [
        ("Approve", 3, f"review:approve:{WEBHOOK_ID}"),
        ("Edit", 2, f"review:edit:{WEBHOOK_ID}"),
        ("Reject", 4, f"review:reject:{WEBHOOK_ID}"),
    ]
    stored = world.reviews.items[WEBHOOK_ID]
    assert (stored.state, stored.channel_id, stored.message_id) == (
        ReviewState.PENDING,
        STAFF_CHANNEL,
        message["id"],
    )
    assert recorded_metrics == ["AnnouncementReviewsRequested"]


def test_a_feed_entry_names_its_feed_and_shows_the_role_it_will_ping_without_pinging(world: World) -> None:
    world.poster.post(
        post_job(FEED_ID, source="feed", feed_id="9" * 20, channel_id=NEWS, role_id=ROLE_TO_PING)
    )
    message = world.review_message()
    assert message["content"] == (
        f"📝 **Review first** — a new entry of the feed `{'9' * 20}`, to be posted in <#{NEWS}>.\n"
        f"<@&{ROLE_TO_PING}>"
    )
    assert message["allowed_mentions"] == NO_MENTIONS
    assert world.posts() == []


def test_a_retried_submission_shows_the_review_once(world: World) -> None:
    world.poster.post(post_job())
    again = world.poster.post(replace(post_job(), attempt=2))
    assert len(world.discord.in_channel(STAFF_CHANNEL)) == 1
    assert again == {"review": "pending", "message_id": world.review_message()["id"]}
    # Died after posting the review, before recording it: Discord's nonce gives back the same one.
    world.reviews.items[WEBHOOK_ID] = replace(world.reviews.items[WEBHOOK_ID], message_id=None)
    world.poster.post(post_job())
    assert len(world.discord.in_channel(STAFF_CHANNEL)) == 1


def test_the_review_nonce_is_stable_short_and_not_the_posts() -> None:
    assert review_nonce(FEED_ID) == review_nonce(FEED_ID)
    assert review_nonce(FEED_ID) != review_nonce(WEBHOOK_ID)
    assert len(review_nonce(FEED_ID)) <= 25
    assert review_nonce(WEBHOOK_ID) != announcement_nonce(WEBHOOK_ID)


def test_the_longest_announcement_id_fits_every_custom_id() -> None:
    longest = f"feed-{'9' * 25}-{'f' * 24}"  # a feed id of 25 digits, as /feeds accepts
    custom_ids = [
        *(ids.review_button(action, longest) for action in ids.REVIEW_ACTIONS),
        ids.review_modal(longest),
    ]
    assert max(len(custom_id) for custom_id in custom_ids) <= 100
    assert ids.parse_review_button(ids.review_button("approve", longest)) == ("approve", longest)
    assert ids.parse_review_modal(ids.review_modal(longest)) == longest


def test_without_a_staff_channel_nothing_is_posted_and_it_is_held(
    world: World, recorded_metrics: list[str]
) -> None:
    world.settings.update(GUILD, {"staff_channel_id": None})
    assert world.poster.post(post_job()) == {"held": "no staff channel"}
    assert world.discord.posts == []
    assert recorded_metrics == ["AnnouncementReviewsHeld"]
    # Sent again once a staff channel is set: shown then.
    world.settings.update(GUILD, {"staff_channel_id": STAFF_CHANNEL})
    assert world.poster.post(post_job())["review"] == "pending"
    assert len(world.discord.in_channel(STAFF_CHANNEL)) == 1
    assert world.posts() == []


def test_a_refused_staff_channel_holds_it_and_posts_nothing(world: World) -> None:
    world.discord.post_failure = DiscordApiError(403, 50013, "Missing Permissions")
    assert world.poster.post(post_job()) == {"held": "the staff channel refused the review"}
    world.discord.post_failure = None
    assert world.posts() == []


def test_without_review_wired_the_poster_holds_rather_than_posts(world: World) -> None:
    poster = AnnouncementJobs(
        ServerDirectory(world.settings, defaults=None),
        world.discord,  # type: ignore[arg-type]
        world.log,
        InMemoryScheduledAnnouncements(),
    )
    assert poster.post(post_job()) == {"held": "no review"}
    assert world.discord.posts == []


def test_a_job_without_review_first_is_posted_as_before(world: World) -> None:
    result = world.poster.post(post_job(review_first=False))
    assert [p["channel_id"] for p in world.discord.posts] == [TEXT]
    assert result["channel_id"] == TEXT
    assert world.reviews.items == {}


# -- deciding ------------------------------------------------------------------------------------


def test_staff_approve_posts_it_once_and_the_message_says_who(
    world: World, recorded_metrics: list[str]
) -> None:
    world.poster.post(post_job())
    result = world.flow.decide(decide(member(FIRST_PRESS, "111"), "approve"))
    [posted] = world.posts()
    assert result["approved"] is True
    assert result["message_id"] == posted["id"]
    assert posted["embeds"] == world.review_message()["embeds"]
    message = world.review_message()
    assert message["content"].endswith(f"\n✅ Approved by <@111> {at(FIRST_PRESS)} — posted in <#{TEXT}>.")
    assert message["components"] == []
    assert world.discord.edits[-1]["allowed_mentions"] == NO_MENTIONS
    assert world.reviews.items[WEBHOOK_ID].decided_by == "111"
    assert "AnnouncementReviewsApproved" in recorded_metrics

    # Pressed again, by the same member or another: told privately who decided; nothing changes.
    assert world.flow.decide(decide(member(SECOND_PRESS, "111"), "approve")) == {
        "already": "approved",
        "decided_by": "111",
    }
    world.flow.decide(decide(member(THIRD_PRESS, "222"), "reject"))
    assert len(world.posts()) == 1
    assert [f["content"] for f in world.discord.followups] == [
        f"✅ Already approved by <@111> {at(FIRST_PRESS)}. Nothing changed."
    ] * 2
    assert all(f["ephemeral"] for f in world.discord.followups)
    assert world.reviews.items[WEBHOOK_ID].decided_press == FIRST_PRESS


def test_manage_server_without_the_staff_role_may_decide(world: World) -> None:
    world.poster.post(post_job())
    world.flow.decide(decide(member(roles=(), permissions="32"), "approve"))
    assert len(world.posts()) == 1


@pytest.mark.parametrize(
    "presser",
    [
        member(roles=("88",), permissions="0"),  # a role that is not staff
        member(roles=(), permissions="0"),
        member(guild=OTHER_GUILD, permissions="32"),  # staff, but of another server
        member(guild=None, roles=(), permissions="0"),  # from a DM
    ],
)
def test_a_press_from_anyone_but_the_servers_staff_changes_nothing(
    world: World, presser: InteractionContext
) -> None:
    world.poster.post(post_job())
    before = world.review_message()["content"]
    for action in ("approve", "reject"):
        assert world.flow.decide(decide(presser, action)) == {"refused": True}
    assert world.flow.edit(edit(presser, "Hijacked", "x")) == {"refused": True}
    assert world.posts() == []
    assert world.reviews.items[WEBHOOK_ID].state is ReviewState.PENDING
    assert world.reviews.items[WEBHOOK_ID].job_payload["title"] == "Season 4 is live"
    assert world.review_message()["content"] == before
    assert world.discord.edits == []
    assert world.discord.followups[0]["content"].startswith("⚠️")


def test_reject_posts_nothing_and_records_who(world: World, recorded_metrics: list[str]) -> None:
    world.poster.post(post_job())
    assert world.flow.decide(decide(member(FIRST_PRESS, "222"), "reject")) == {"rejected": True}
    assert world.posts() == []
    message = world.review_message()
    assert message["content"].endswith(f"\n🚫 Rejected by <@222> {at(FIRST_PRESS)} — nothing was posted.")
    assert message["components"] == []
    assert world.reviews.items[WEBHOOK_ID].state is ReviewState.REJECTED
    # Approve after Reject: told, nothing posted. The job sent again: nothing either.
    world.flow.decide(decide(member(SECOND_PRESS, "111"), "approve"))
    assert world.discord.followups[-1]["content"].startswith("🚫 Already rejected by <@222>")
    world.poster.post(post_job())
    assert world.posts() == []
    assert "AnnouncementReviewsRejected" in recorded_metrics


def test_a_retried_decide_job_after_the_review_was_marked_approved_still_posts(world: World) -> None:
    world.poster.post(post_job())
    # The first delivery recorded the decision, then died before the post went out.
    world.discord.post_failure = RuntimeError("the worker died")
    with pytest.raises(RuntimeError):
        world.flow.decide(decide(member(FIRST_PRESS, "111"), "approve"))
    world.discord.post_failure = None
    assert world.reviews.items[WEBHOOK_ID].state is ReviewState.APPROVED
    assert world.posts() == []
    # Another staff member presses meanwhile: the decision is taken, they are told.
    assert world.flow.decide(decide(member(SECOND_PRESS, "222"), "approve"))["already"] == "approved"
    assert world.posts() == []
    # The deciding job, delivered again, finishes what it began: posted, once.
    retried = replace(decide(member(FIRST_PRESS, "111"), "approve"), attempt=2)
    assert world.flow.decide(retried)["approved"] is True
    assert len(world.posts()) == 1
    world.flow.decide(replace(retried, attempt=3))
    assert len(world.posts()) == 1
    assert "✅ Approved by <@111>" in world.review_message()["content"]


def test_an_approval_whose_job_failed_for_good_is_posted_when_sent_again(world: World) -> None:
    world.poster.post(post_job())
    world.discord.post_failure = RuntimeError("Discord is down")
    for attempt in (1, 2):  # every delivery fails after recording the decision; then dead-lettered
        with pytest.raises(RuntimeError):
            world.flow.decide(replace(decide(member(FIRST_PRESS, "111"), "approve"), attempt=attempt))
    world.discord.post_failure = None
    assert world.posts() == []
    # The webhook sends it again: staff approved it, so it goes out now, once.
    assert world.poster.post(post_job())["approved"] is True
    world.poster.post(post_job())
    assert len(world.posts()) == 1
    assert "✅ Approved by <@111>" in world.review_message()["content"]


def test_an_approved_post_the_poster_refuses_reopens_the_review_with_the_reason(world: World) -> None:
    world.settings.update(GUILD, {"announcements_channel_id": None})
    world.poster.post(post_job())
    assert "none is set: pick one with `/setup`" in world.review_message()["content"]
    assert world.flow.decide(decide(member(FIRST_PRESS, "111"), "approve")) == {
        "refused": True,
        "released": True,
    }
    assert world.posts() == []
    message = world.review_message()
    assert (
        f"⚠️ Approved by <@111> {at(FIRST_PRESS)}, but **not posted**: This server has no"
        in (message["content"])
    )
    assert message["components"]  # Approve can be pressed again
    # The poster's own notice to staff, as for any automatic post it refuses.
    assert any("was **not posted**" in str(m["content"]) for m in world.discord.in_channel(STAFF_CHANNEL))
    assert world.reviews.items[WEBHOOK_ID].state is ReviewState.PENDING
    world.settings.update(GUILD, {"announcements_channel_id": TEXT})
    world.flow.decide(decide(member(SECOND_PRESS, "111"), "approve"))
    assert len(world.posts()) == 1


def test_a_deleted_review_message_does_not_undo_the_decision(world: World) -> None:
    world.poster.post(post_job())
    world.discord.edit_failure = DiscordApiError(404, 10008, "Unknown Message")
    assert world.flow.decide(decide(member(), "approve"))["approved"] is True
    assert len(world.posts()) == 1


def test_an_unknown_review_is_gone(world: World) -> None:
    assert world.flow.decide(decide(member(), "approve", "deadbeef")) == {"refused": True}
    assert world.discord.followups[-1]["content"].startswith("⚠️ This review no longer exists")


# -- editing -------------------------------------------------------------------------------------


def test_edit_changes_what_is_posted_and_the_message_says_who_edited(world: World) -> None:
    world.poster.post(post_job(role_id=ROLE_TO_PING))
    assert world.flow.edit(edit(member(FIRST_PRESS, "333"), "Season 4 is live!", "Fixed notes")) == {
        "edited": True
    }
    message = world.review_message()
    assert message["embeds"][0]["title"] == "Season 4 is live!"
    assert message["embeds"][0]["description"] == "Fixed notes"
    assert "✏️ Edited by <@333>." in message["content"]
    assert message["components"]  # still waiting for a decision
    assert world.discord.edits[-1]["allowed_mentions"] == NO_MENTIONS
    world.flow.decide(decide(member(SECOND_PRESS, "111"), "approve"))
    [posted] = world.posts()
    assert (posted["embeds"][0]["title"], posted["embeds"][0]["description"]) == (
        "Season 4 is live!",
        "Fixed notes",
    )
    assert posted["content"] == f"<@&{ROLE_TO_PING}>"  # the rest of the payload is untouched
    assert posted["embeds"][0]["url"] == "https://example.com/s4"


def test_an_edit_after_the_decision_is_not_saved(world: World) -> None:
    world.poster.post(post_job())
    world.flow.decide(decide(member(FIRST_PRESS, "111"), "reject"))
    assert world.flow.edit(edit(member(SECOND_PRESS, "222"), "Too late", "x")) == {"already": "rejected"}
    assert world.reviews.items[WEBHOOK_ID].job_payload["title"] == "Season 4 is live"
    assert world.discord.followups[-1]["content"].endswith("The edit was not saved.")


# -- the webhook and its setting -----------------------------------------------------------------


def test_the_webhook_asks_for_review_only_when_set() -> None:
    announcement = WebhookAnnouncement(title="t", text="x", idempotency_key="k")
    assert (
        announcement_job(announcement, server=GUILD, delivery="1", review_first=True).payload["review_first"]
        is True
    )
    assert "review_first" not in announcement_job(announcement, server=GUILD, delivery="1").payload


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), ("false", False), ("", False)])
def test_the_webhook_setting_reads_true_or_false(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST", raw)
    assert announcements_webhook_review_first() is expected


def test_a_mistyped_webhook_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST", "yes")
    with pytest.raises(ConfigurationError):
        announcements_webhook_review_first()


# -- the endpoint --------------------------------------------------------------------------------

REVIEW_MESSAGE = {
    "id": "5000",
    "content": "📝 **Review first**",
    "embeds": [{"title": "Season 4 is live", "description": "Patch notes inside"}],
}


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_approve_and_reject_queue_a_decision_with_a_deferred_update(
    queue: RecordingQueue, action: str
) -> None:
    pressed = button(f"review:{action}:{FEED_ID}", REVIEW_MESSAGE, roles=[STAFF_ROLE], permissions="0")
    answer = call(queue, pressed)
    assert answer == {"type": 6}
    [job] = queue.jobs
    assert (job.kind, job.payload) == (JobKind.REVIEW_DECIDE, {"announcement_id": FEED_ID, "action": action})
    assert job.interaction.roles == (STAFF_ROLE,)  # the worker judges who pressed from this


def test_edit_opens_the_form_filled_in_from_the_review_message(queue: RecordingQueue) -> None:
    answer = call(queue, button(f"review:edit:{WEBHOOK_ID}", REVIEW_MESSAGE))
    assert answer["type"] == MODAL
    assert answer["data"]["custom_id"] == f"review:form:{WEBHOOK_ID}"
    inputs = {row["component"]["custom_id"]: row["component"] for row in answer["data"]["components"]}
    assert inputs["title"]["value"] == "Season 4 is live"
    assert inputs["text"]["value"] == "Patch notes inside"
    assert queue.jobs == []


def test_the_edit_form_queues_the_edit_with_a_deferred_update(queue: RecordingQueue) -> None:
    components = [
        {"type": 18, "component": {"type": 4, "custom_id": "title", "value": " New title "}},
        {"type": 18, "component": {"type": 4, "custom_id": "text", "value": "New text"}},
    ]
    data = {"custom_id": f"review:form:{WEBHOOK_ID}", "components": components}
    assert call(queue, payload(5, data, message=REVIEW_MESSAGE)) == {"type": 6}
    [job] = queue.jobs
    assert (job.kind, job.payload) == (
        JobKind.REVIEW_EDIT,
        {"announcement_id": WEBHOOK_ID, "title": "New title", "text": "New text"},
    )
    empty = [{"type": 18, "component": {"type": 4, "custom_id": "title", "value": "  "}}]
    answer = call(queue, payload(5, {"custom_id": f"review:form:{WEBHOOK_ID}", "components": empty}))
    assert answer["type"] == MESSAGE
    assert len(queue.jobs) == 1


@pytest.mark.parametrize("guild", [GUILD, None])
def test_a_member_with_neither_manage_server_nor_a_role_is_refused_at_once(
    queue: RecordingQueue, guild: str | None
) -> None:
    for action in ("approve", "edit", "reject"):
        pressed = button(f"review:{action}:{WEBHOOK_ID}", REVIEW_MESSAGE, permissions="0", guild=guild)
        answer = call(queue, pressed)
        assert answer["type"] == MESSAGE
        assert answer["data"]["flags"] == 64
    assert queue.jobs == []


@pytest.mark.parametrize(
    "custom_id",
    [
        "review:approve:",
        "review:publish:abc",
        f"review:approve:{WEBHOOK_ID}:extra",
        "review:approve:" + "a" * 65,
        "review:approve:a b",
    ],
)
def test_a_malformed_review_button_queues_nothing(queue: RecordingQueue, custom_id: str) -> None:
    answer = call(queue, button(custom_id, REVIEW_MESSAGE))
    assert answer["type"] == MESSAGE
    assert queue.jobs == []


def test_the_job_survives_the_queue(queue: RecordingQueue) -> None:
    call(queue, button(f"review:approve:{WEBHOOK_ID}", REVIEW_MESSAGE))
    [job] = queue.jobs
    assert Job.from_json(job.to_json()) == job
    assert json.loads(job.to_json())["kind"] == "announcement.review_decide"
