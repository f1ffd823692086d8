"""After a support chat (rating, comment, transcript), the agent's view of the member's recent
cases, and support hours for "Talk to a human" and the assistant's hand-off, on in-memory fakes
with an injected clock."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from flexcord.adapters.discord import UnknownWebhook
from flexcord.adapters.twilio import ConversationMessage, FlexHandoff
from flexcord.cases import CaseDraft, CaseKind, CaseService, Reporter
from flexcord.cases.model import CaseSection, CaseStatus
from flexcord.config import DiscordSettings, TwilioSettings
from flexcord.interactions import custom_ids as ids
from flexcord.jobs import chat_followup
from flexcord.jobs.chat_followup import ChatFollowUp, closing_components, member_identity, render_transcript
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.support_jobs import SupportChat
from flexcord.servers.hours import parse_support_hours
from flexcord.servers.settings import ServerDirectory
from flexcord.sessions.handoff import task_attributes
from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession
from tests.unit.fakes import InMemoryCaseRepository, InMemoryServerSettings, InMemorySessionRepository

GUILD = "900000000000000001"
CONVERSATION = "CH" + "1" * 32
ALICE = "111"
BOB = "222"


@dataclass
class FakeDiscord:
    posts: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    token_expired: bool = False

    def create_message(self, channel_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.posts.append({"channel_id": channel_id, **kwargs})
        return [{"id": str(len(self.posts))}]

    def edit_original_response(self, token: str, **kwargs: Any) -> dict[str, Any]:
        if self.token_expired:
            raise UnknownWebhook(404, 10015, "Unknown Webhook")
        self.edits.append({"token": token, **kwargs})
        return {}

    def create_followup(self, token: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.followups.append({"token": token, **kwargs})
        return [{}]

    def open_dm(self, user_id: str) -> dict[str, Any]:
        return {"id": f"dm-{user_id}"}


@dataclass
class FakeTwilio:
    messages: list[ConversationMessage] = field(default_factory=list)
    reads: int = 0
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    attribute_updates: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def conversation_messages(self, conversation_sid: str) -> list[ConversationMessage]:
        self.reads += 1
        return list(self.messages)

    def user_friendly_name(self, identity: str) -> str | None:
        return self.names.get(identity)

    def hand_off_to_flex(self, conversation_sid: str, **kwargs: Any) -> FlexHandoff:
        self.handoffs.append({"conversation_sid": conversation_sid, **kwargs})
        return FlexHandoff("KD1", "UO1")

    def add_message(self, conversation_sid: str, **kwargs: Any) -> str:
        self.added.append(kwargs)
        return "IM1"

    def update_attributes(self, conversation_sid: str, attributes: dict[str, Any]) -> None:
        self.attribute_updates.append(attributes)

    def close_conversation(self, conversation_sid: str) -> None:
        pass

    def close_interaction_channel(self, handoff: FlexHandoff) -> None:
        pass


def context(user_id: str = ALICE, name: str = "Alice", interaction_id: str = "1001") -> InteractionContext:
    return InteractionContext(
        interaction_id=interaction_id,
        application_id="app",
        token=f"token-{interaction_id}",
        user_id=user_id,
        username=name.lower(),
        display_name=name,
        roles=(),
        guild_id=GUILD,
        channel_id="c1",
        locale="en-GB",
    )


def job(kind: JobKind, payload: dict[str, Any], **who: Any) -> Job:
    return Job.for_interaction(kind, context(**who), payload)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> dict[str, Any]:
    cases = CaseService(InMemoryCaseRepository(), default_server=GUILD)
    sessions = InMemorySessionRepository()
    discord = FakeDiscord()
    twilio = FakeTwilio()
    servers = ServerDirectory(InMemoryServerSettings(), defaults=None)
    clock = Clock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # Wednesday 11:00 in Paris
    chat = SupportChat(
        sessions=sessions,
        cases=cases,
        discord=discord,  # type: ignore[arg-type]
        twilio=twilio,  # type: ignore[arg-type]
        discord_settings=DiscordSettings(
            application_id="app",
            public_key="",
            api_base_url="https://discord.test/api/v10",
            guild_id=GUILD,
            bug_report_channel_id=None,
            feature_request_channel_id=None,
            staff_role_id=None,
        ),
        twilio_settings=TwilioSettings(
            account_sid="AC1",
            api_base_url=None,
            chat_service_sid=None,
            public_base_url=None,
            studio_flow_sid=None,
            flex_workspace_sid="WS1",
            flex_workflow_sid="WW1",
        ),
        servers=servers,
        now=clock,
    )
    follow_up = ChatFollowUp(cases=cases, discord=discord, twilio=twilio)  # type: ignore[arg-type]
    return {
        "cases": cases,
        "sessions": sessions,
        "discord": discord,
        "twilio": twilio,
        "servers": servers,
        "clock": clock,
        "chat": chat,
        "follow_up": follow_up,
    }


def open_session(world: dict[str, Any], mode: SessionMode = SessionMode.ASSISTANT) -> SupportSession:
    session = SupportSession(
        user_id=ALICE,
        display_name="Alice",
        locale="en-GB",
        guild_id=GUILD,
        channel_id="dm-111",
        place=ChatPlace.DM,
        conversation_sid=CONVERSATION,
        member_identity=member_identity(CONVERSATION),
        mode=mode,
        opened_at="2026-12-02T09:00:00+00:00",
    )
    world["sessions"].open(session)
    return session


def support_case(world: dict[str, Any], reporter: str = ALICE, name: str = "Alice") -> int:
    cases: CaseService = world["cases"]
    case = cases.open_case(
        CaseDraft(
            kind=CaseKind.SUPPORT,
            title=f"Support chat with {name}",
            sections=(),
            reporter=Reporter(reporter, name.lower(), name),
            guild_id=GUILD,
            channel_id="dm",
        ),
        source_id=f"chat-{reporter}",
    )
    cases.link_conversation(case, CONVERSATION)
    return case.number


def set_paris_hours(world: dict[str, Any], *holidays: date) -> None:
    hours = parse_support_hours(
        time_zone="Europe/Paris",
        days=["mon", "tue", "wed", "thu", "fri"],
        opens="09:00",
        closes="17:00",
        holidays=" ".join(d.isoformat() for d in holidays),
        after_hours_message="Our team is offline.",
    )
    world["servers"].change(GUILD, by="test", now="2026-12-01T00:00:00+00:00", hours=hours.to_document())


# -- rating and comment -------------------------------------------------------------------------


def test_the_reporter_rates_the_last_press_counts_and_the_notice_shows_it(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ratings: list[float] = []
    monkeypatch.setattr(
        chat_followup.metrics,
        "add_metric",
        lambda **kw: ratings.append(kw["value"]) if kw["name"] == "ChatRating" else None,
    )
    number = support_case(world)
    follow_up: ChatFollowUp = world["follow_up"]
    first = job(JobKind.RATE_CHAT, {"server": GUILD, "number": number, "stars": 4}, interaction_id="2001")
    assert follow_up.rate(first)["rated"] is True
    follow_up.rate(Job(**{**first.__dict__, "attempt": 2}))  # the same press, delivered again
    follow_up.rate(
        job(JobKind.RATE_CHAT, {"server": GUILD, "number": number, "stars": 2}, interaction_id="2002")
    )
    case = world["cases"].find(GUILD, number)
    assert case.rating == 2
    assert [e.note for e in case.history if e.action == "rated"] == ["4/5", "2/5"]
    assert ratings == [4, 2]
    last = world["discord"].edits[-1]
    assert last["token"] == "token-2002"
    assert "(2/5)" in last["embeds"][0]["description"]
    styles = {b["custom_id"]: b["style"] for row in last["components"] for b in row["components"]}
    assert styles[ids.rate_chat_button(GUILD, number, 2)] == 3
    assert styles[ids.rate_chat_button(GUILD, number, 4)] == 2


def test_someone_else_pressing_a_crafted_rating_changes_nothing(world: dict[str, Any]) -> None:
    number = support_case(world)
    follow_up: ChatFollowUp = world["follow_up"]
    result = follow_up.rate(
        job(JobKind.RATE_CHAT, {"server": GUILD, "number": number, "stars": 1}, user_id=BOB, name="Bob")
    )
    assert result == {"rated": False}
    case = world["cases"].find(GUILD, number)
    assert case.rating is None
    assert not [e for e in case.history if e.action == "rated"]
    assert world["discord"].edits == []  # the message pressed is left as it is
    [refusal] = world["discord"].followups
    assert refusal["ephemeral"] is True
    assert refusal["content"] == chat_followup.NOT_YOURS
    # A comment through a crafted form id is refused too.
    follow_up.comment(
        job(
            JobKind.COMMENT_CHAT,
            {"server": GUILD, "number": number, "comment": "rude"},
            user_id=BOB,
            name="Bob",
        )
    )
    assert world["cases"].find(GUILD, number).rating_comment == ""


def test_a_comment_is_stored_with_the_rating(world: dict[str, Any]) -> None:
    number = support_case(world)
    follow_up: ChatFollowUp = world["follow_up"]
    follow_up.comment(
        job(JobKind.COMMENT_CHAT, {"server": GUILD, "number": number, "comment": " Great help "})
    )
    follow_up.rate(
        job(JobKind.RATE_CHAT, {"server": GUILD, "number": number, "stars": 5}, interaction_id="3")
    )
    case = world["cases"].find(GUILD, number)
    assert (case.rating, case.rating_comment) == (5, "Great help")
    assert [e.note for e in case.history if e.action == "rated"] == ["comment: Great help", "5/5: Great help"]
    assert world["discord"].edits[0]["content"] == f"Thanks! Your comment is saved with case #{number}."


def test_a_bug_report_cannot_be_rated(world: dict[str, Any]) -> None:
    cases: CaseService = world["cases"]
    bug = cases.open_case(
        CaseDraft(CaseKind.BUG, "Crash", (), Reporter(ALICE, "alice", "Alice"), GUILD, "c"), source_id="b1"
    )
    world["follow_up"].rate(job(JobKind.RATE_CHAT, {"server": GUILD, "number": bug.number, "stars": 5}))
    assert cases.find(GUILD, bug.number).rating is None
    assert "not a support chat" in world["discord"].followups[0]["content"]


# -- transcript ---------------------------------------------------------------------------------


def at(minute: int) -> datetime:
    return datetime(2026, 12, 2, 10, minute, 5, tzinfo=UTC)


def conversation() -> list[ConversationMessage]:
    member = member_identity(CONVERSATION)
    return [
        ConversationMessage(0, member, "my pokéstop is missing", {}, at(0)),
        ConversationMessage(1, "flexcord", "These articles might help:", {"assistant": True}, at(1)),
        ConversationMessage(2, "flexcord", "The member asked to talk to a human.", {"handoff": True}, at(2)),
        ConversationMessage(3, "agent_alex%40example.com", "Hi!\nWhich one?", {}, at(3)),
        ConversationMessage(4, member, "", {}, at(4), media_filenames=("error.png",)),
        ConversationMessage(5, "agent_sam", "Taking over", {}, at(5)),
        ConversationMessage(6, "agent_ghost", "Boo", {}, at(6)),
    ]


def test_the_transcript_names_everyone_and_never_shows_an_identity(world: dict[str, Any]) -> None:
    number = support_case(world)
    cases: CaseService = world["cases"]
    from flexcord.cases.service import Actor

    cases.move(
        GUILD, number, CaseStatus.IN_PROGRESS, actor=Actor("agent_alex%40example.com", "Alex"), note="joined"
    )
    world["twilio"].messages = conversation()
    world["twilio"].names = {"agent_sam": "Sam"}
    result = world["follow_up"].transcript(job(JobKind.SEND_TRANSCRIPT, {"server": GUILD, "number": number}))
    assert result == {"sent": True, "case": number, "messages": 7}
    [edit] = world["discord"].edits
    [upload] = edit["files"]
    assert upload.filename == f"support-case-{number}-transcript.txt"
    text = upload.content.decode()
    assert text.splitlines()[4:] == [
        "[2026-12-02 10:00:05 UTC] Alice: my pokéstop is missing",
        "[2026-12-02 10:01:05 UTC] Assistant: These articles might help:",
        "[2026-12-02 10:02:05 UTC] Flexcord (notice): The member asked to talk to a human.",
        "[2026-12-02 10:03:05 UTC] Alex (agent): Hi!",
        "    Which one?",
        "[2026-12-02 10:04:05 UTC] Alice: [attached: error.png]",
        "[2026-12-02 10:05:05 UTC] Sam (agent): Taking over",
        "[2026-12-02 10:06:05 UTC] Support agent (agent): Boo",
    ]
    assert "example.com" not in text
    assert "agent_" not in text


def test_only_the_reporter_gets_the_transcript(world: dict[str, Any]) -> None:
    number = support_case(world)
    world["twilio"].messages = conversation()
    result = world["follow_up"].transcript(
        job(JobKind.SEND_TRANSCRIPT, {"server": GUILD, "number": number}, user_id=BOB, name="Bob")
    )
    assert result == {"sent": False}
    assert world["twilio"].reads == 0  # nothing of the chat was read
    assert world["discord"].edits[0]["content"] == chat_followup.NOT_YOURS
    assert "files" not in world["discord"].edits[0]


def test_the_transcript_goes_by_dm_when_the_reply_has_expired(world: dict[str, Any]) -> None:
    number = support_case(world)
    world["discord"].token_expired = True
    world["follow_up"].transcript(job(JobKind.SEND_TRANSCRIPT, {"server": GUILD, "number": number}))
    [post] = world["discord"].posts
    assert post["channel_id"] == f"dm-{ALICE}"
    assert post["files"][0].filename.endswith("-transcript.txt")
    # A retry of the same press posts under the same nonce (Discord, and the worker's record of a
    # failed attempt's posts, then keep it to one message); another press is a message of its own.
    sent = job(JobKind.SEND_TRANSCRIPT, {"server": GUILD, "number": number})
    world["follow_up"].transcript(sent)
    world["follow_up"].transcript(sent)
    again = job(JobKind.SEND_TRANSCRIPT, {"server": GUILD, "number": number}, interaction_id="another-press")
    world["follow_up"].transcript(again)
    nonces = [post["nonce"] for post in world["discord"].posts[1:]]
    assert nonces[0] == nonces[1] != nonces[2]


def test_render_transcript_of_an_empty_conversation() -> None:
    from flexcord.cases.model import Case

    case = Case.open_from(
        CaseDraft(CaseKind.SUPPORT, "Chat", (), Reporter(ALICE, "a", "Alice"), GUILD, "c"),
        number=3,
        now="2026-12-02T10:00:00+00:00",
        source_id="s",
    )
    assert render_transcript(case, [], agent_name=str).endswith("(no messages)\n")


# -- the closing notice and the agent's task ----------------------------------------------------


def test_the_closing_notice_carries_the_rating_buttons_for_the_case(world: dict[str, Any]) -> None:
    session = open_session(world, SessionMode.AGENT)
    number = support_case(world)
    world["sessions"].save(session.queued(number))
    world["chat"].end_chat(job(JobKind.END_CHAT, {}))
    [notice] = [p for p in world["discord"].posts if p["channel_id"] == "dm-111"]
    assert "Rate this chat" in notice["content"]
    assert notice["components"] == closing_components(world["cases"].find(GUILD, number))
    all_ids = [b["custom_id"] for row in notice["components"] for b in row["components"]]
    assert all_ids == [
        *(f"chat:rate:{GUILD}:{number}:{stars}" for stars in range(1, 6)),
        f"chat:comment:{GUILD}:{number}",
        f"chat:transcript:{GUILD}:{number}",
    ]
    assert all(len(i) <= 100 for i in all_ids)


def test_without_a_case_the_closing_notice_has_no_rating(world: dict[str, Any]) -> None:
    open_session(world)
    world["chat"].end_chat(job(JobKind.END_CHAT, {}))
    [notice] = world["discord"].posts
    assert notice["components"] == ()


def test_the_task_carries_up_to_five_recent_cases_of_this_server(world: dict[str, Any]) -> None:
    cases: CaseService = world["cases"]
    for index in range(7):
        cases.open_case(
            CaseDraft(CaseKind.BUG, f"Bug {index}", (), Reporter(ALICE, "a", "Alice"), GUILD, "c"),
            source_id=f"bug-{index}",
        )
    cases.open_case(
        CaseDraft(CaseKind.BUG, "Elsewhere", (), Reporter(ALICE, "a", "Alice"), "other-guild", "c"),
        source_id="other",
    )
    cases.open_case(
        CaseDraft(CaseKind.BUG, "Bob's", (), Reporter(BOB, "b", "Bob"), GUILD, "c"), source_id="bob"
    )
    session = open_session(world)
    number = support_case(world)
    attributes = task_attributes(session.queued(number), cases)
    recent = attributes["recent_cases"]
    assert len(recent) == 5
    assert number not in [c["number"] for c in recent]  # not the chat's own case
    assert {c["title"] for c in recent} <= {f"Bug {i}" for i in range(7)}
    assert recent[0] == {
        "number": recent[0]["number"],
        "kind": "bug",
        "title": recent[0]["title"],
        "status": "open",
    }
    assert '"' not in attributes["recent_cases_summary"]


def test_the_direct_hand_off_gives_flex_the_recent_cases(world: dict[str, Any]) -> None:
    cases: CaseService = world["cases"]
    cases.open_case(
        CaseDraft(CaseKind.FEATURE, 'A "dark" mode', (), Reporter(ALICE, "a", "Alice"), GUILD, "c"),
        source_id="feature",
    )
    open_session(world)
    result = world["chat"].request_agent(job(JobKind.REQUEST_AGENT, {}))
    assert result["queued"] is True
    [handoff] = world["twilio"].handoffs
    [earlier] = handoff["task_attributes"]["recent_cases"]
    assert (earlier["kind"], earlier["title"]) == ("feature", 'A "dark" mode')
    assert handoff["task_attributes"]["recent_cases_summary"] == "#1 Feature request: A 'dark' mode (open)"


# -- support hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "holidays", "opens"),
    [
        (datetime(2026, 12, 2, 10, 0, tzinfo=UTC), (), True),  # Wednesday 11:00 in Paris
        (datetime(2026, 12, 2, 16, 30, tzinfo=UTC), (), False),  # Wednesday 17:30: evening
        (datetime(2026, 12, 5, 10, 0, tzinfo=UTC), (), False),  # Saturday
        (datetime(2026, 12, 24, 10, 0, tzinfo=UTC), (date(2026, 12, 24),), False),  # a holiday
        # Across the autumn change (Sunday 25 October 2026): 07:30 UTC is 09:30 in Paris on the
        # Friday before (CEST, open) but 08:30 on the Monday after (CET, closed); 08:30 UTC on
        # that Monday is 09:30 (open).
        (datetime(2026, 10, 23, 7, 30, tzinfo=UTC), (), True),
        (datetime(2026, 10, 26, 7, 30, tzinfo=UTC), (), False),
        (datetime(2026, 10, 26, 8, 30, tzinfo=UTC), (), True),
    ],
)
def test_talk_to_a_human_hands_off_only_inside_hours(
    world: dict[str, Any], now: datetime, holidays: tuple[date, ...], opens: bool
) -> None:
    set_paris_hours(world, *holidays)
    world["clock"].now = now
    open_session(world)
    result = world["chat"].request_agent(job(JobKind.REQUEST_AGENT, {}))
    session = world["sessions"].for_member(ALICE)
    told = world["discord"].edits[-1]
    if opens:
        assert result["queued"] is True
        assert len(world["twilio"].handoffs) == 1
        assert told["content"].startswith("📨 Case #")
        return
    assert result == {"queued": False, "after_hours": True}
    assert world["twilio"].handoffs == []
    assert session.mode is SessionMode.ASSISTANT
    assert session.case_number is None
    assert world["cases"].cases_of(ALICE) == []
    assert told["content"].startswith("🌙 Our team is offline. They're back ")
    assert [b["custom_id"] for row in told["components"] for b in row["components"]] == [
        ids.LEAVE_MESSAGE_BUTTON
    ]


def test_outside_hours_the_assistant_answers_instead_of_handing_off(world: dict[str, Any]) -> None:
    @dataclass(frozen=True)
    class NoArticles:
        def search(self, query: str, k: int = 10, *, locale: str | None = None) -> Any:
            return type("Result", (), {"abstain": True, "hits": []})()

    chat: SupportChat = world["chat"]
    chat._knowledge_base = NoArticles()  # type: ignore[assignment]
    set_paris_hours(world)
    world["clock"].now = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    session = open_session(world)
    chat._assist(session, "I want a human", message_key="m1", retry=False)
    assert world["twilio"].handoffs == []
    [answer] = world["discord"].posts
    assert answer["content"].startswith("🌙 Our team is offline.")
    assert [b["custom_id"] for row in answer["components"] for b in row["components"]] == [
        ids.LEAVE_MESSAGE_BUTTON
    ]
    assert world["sessions"].for_member(ALICE).mode is SessionMode.ASSISTANT
    # Recorded for the agent who reads the conversation later, as the assistant's answer.
    assert world["twilio"].added[0]["attributes"]["assistant"] is True


def test_leaving_a_message_opens_one_case_even_when_delivered_twice(world: dict[str, Any]) -> None:
    open_session(world)
    left = job(JobKind.LEAVE_MESSAGE, {"text": "My raid pass vanished."}, interaction_id="4001")
    first = world["chat"].leave_message(left)
    again = world["chat"].leave_message(Job(**{**left.__dict__, "attempt": 2}))
    assert first == again == {"filed": True, "case": 1}
    [case] = world["cases"].cases_of(ALICE)
    assert case.kind is CaseKind.SUPPORT
    assert case.title == "Message left after hours"
    assert case.sections == (CaseSection("Message", "My raid pass vanished."),)
    assert case.server == GUILD
    assert case.status is CaseStatus.OPEN
    assert world["discord"].edits[-1]["content"].startswith("📝 Thanks! Your message is case #1.")


def test_an_empty_left_message_files_nothing(world: dict[str, Any]) -> None:
    assert world["chat"].leave_message(job(JobKind.LEAVE_MESSAGE, {"text": "  "})) == {"filed": False}
    assert world["cases"].cases_of(ALICE) == []


def test_without_server_settings_agents_are_always_in(world: dict[str, Any]) -> None:
    world["clock"].now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Saturday night: no hours set
    open_session(world)
    assert world["chat"].request_agent(job(JobKind.REQUEST_AGENT, {}))["queued"] is True


def test_job_payloads_are_json(world: dict[str, Any]) -> None:
    made = job(JobKind.RATE_CHAT, {"server": GUILD, "number": 1, "stars": 3})
    assert Job.from_json(made.to_json()) == made
    assert json.loads(made.to_json())["kind"] == "chat.rate"


def test_a_rating_is_kept_when_the_notice_can_no_longer_be_updated(world: dict[str, Any]) -> None:
    number = support_case(world)
    world["discord"].token_expired = True
    result = world["follow_up"].rate(job(JobKind.RATE_CHAT, {"server": GUILD, "number": number, "stars": 3}))
    assert result == {"rated": True, "case": number, "stars": 3}
    assert world["cases"].find(GUILD, number).rating == 3


# -- a member's message relayed once, without an idempotency record ------------------------------


def test_replies_queued_out_of_their_ids_order_are_both_relayed(world: dict[str, Any]) -> None:
    """Two /reply sent close together are queued by two handler calls: the newer may be queued
    first. The mark must not read the older one as relayed."""
    open_session(world, SessionMode.AGENT)
    newer = job(JobKind.MEMBER_MESSAGE, {"text": "second"}, interaction_id="1400000000000000002")
    older = job(JobKind.MEMBER_MESSAGE, {"text": "first"}, interaction_id="1400000000000000001")
    assert world["chat"].member_message(newer) == {"relayed": True}
    assert world["chat"].member_message(older) == {"relayed": True}
    assert [message["body"] for message in world["twilio"].added] == ["second", "first"]
    # The mark stays at the newer one: it never moves back.
    assert world["sessions"].for_member(ALICE).member_relayed_through == 1400000000000000002


def test_a_reply_whose_job_comes_back_is_not_relayed_again(world: dict[str, Any]) -> None:
    open_session(world, SessionMode.AGENT)
    reply = job(JobKind.MEMBER_MESSAGE, {"text": "It still crashes."}, interaction_id="1400000000000000003")
    assert world["chat"].member_message(reply) == {"relayed": True}
    assert world["chat"].relayed_earlier(reply)
    again = world["chat"].member_message(replace(reply, attempt=2))
    assert again == {"relayed": False, "relayed_earlier": True}
    assert [message["body"] for message in world["twilio"].added] == ["It still crashes."]


def test_a_reply_that_outlived_its_chat_is_not_relayed_into_the_next(world: dict[str, Any]) -> None:
    """A reply relayed in one chat whose delete was lost comes back after the member ended that
    chat and opened another: it belongs to the old chat, not the new one."""
    session = open_session(world, SessionMode.AGENT)
    world["sessions"].end(session)
    newer_chat = replace(session, conversation_sid="CH" + "9" * 32, opened_by_interaction=1400000000000000010)
    world["sessions"].open(newer_chat)
    stale = job(JobKind.MEMBER_MESSAGE, {"text": "from the old chat"}, interaction_id="1400000000000000005")
    assert world["chat"].member_message(stale) == {"relayed": False, "relayed_earlier": True}
    assert world["twilio"].added == []
    fresh = job(JobKind.MEMBER_MESSAGE, {"text": "hello again"}, interaction_id="1400000000000000011")
    assert world["chat"].member_message(fresh) == {"relayed": True}


def agent_said(index: int, body: str) -> Job:
    return Job(
        kind=JobKind.CONVERSATION_EVENT,
        key=f"message:IM{index}",
        group=CONVERSATION,
        payload={
            "EventType": "onMessageAdded",
            "ConversationSid": CONVERSATION,
            "MessageSid": f"IM{index}",
            "Index": str(index),
            "Body": body,
            "Author": "agent_sam",
            "ParticipantAttributes": json.dumps({"friendly_name": "Sam"}),
        },
    )


def test_agent_messages_queued_out_of_their_order_are_both_relayed(world: dict[str, Any]) -> None:
    """Twilio may call the webhook for two messages in either order: the mark of the later one
    must not read the earlier one as relayed."""
    open_session(world, SessionMode.AGENT)
    later, earlier = agent_said(5, "second"), agent_said(4, "first")
    assert world["chat"].conversation_event(later) == {"acted": True}
    assert world["chat"].conversation_event(earlier) == {"acted": True}
    posted = [p["content"] for p in world["discord"].posts if p["channel_id"] == "dm-111"]
    assert [text.split(":** ")[-1] for text in posted] == ["second", "first"]
    # A redelivery of the last one relayed is skipped.
    assert world["chat"].conversation_event(later) == {"acted": False, "relayed_earlier": True}
    assert world["chat"].relayed_earlier(later)
    assert not world["chat"].relayed_earlier(earlier)
