"""The DynamoDB and SQS adapters against moto on loopback, with the table and queues built from
template.yaml."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from devstack.aws_resources import LocalResources
from flexcord.adapters.queue.job_queue import QueueUnavailable, SqsJobQueue
from flexcord.adapters.storage.case_repository import DynamoCaseRepository
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.cases.model import (
    Attachment,
    Case,
    CaseDraft,
    CaseKind,
    CaseSection,
    CaseStatus,
    PostedMessage,
    Reporter,
)
from flexcord.cases.repository import VersionConflict
from flexcord.jobs.model import InteractionContext, Job, JobKind

NOW = "2026-11-21T10:00:00+00:00"


def draft(user_id: str = "111", title: str = "Raid lobby freezes") -> CaseDraft:
    return CaseDraft(
        kind=CaseKind.BUG,
        title=title,
        sections=(CaseSection("What happened?", "It froze"), CaseSection("Steps", "1. Join")),
        reporter=Reporter(user_id, "alice", "Alice"),
        guild_id="900",
        channel_id="901",
        attachments=(Attachment("s.png", "image/png", 68, "https://cdn/s.png"),),
    )


@pytest.fixture
def repository(aws: LocalResources) -> DynamoCaseRepository:
    return DynamoCaseRepository(dynamodb_client(), aws.table_name)


def test_a_case_round_trips_with_every_field(repository: DynamoCaseRepository) -> None:
    created = repository.create(draft(), source_id="i1", now=NOW)
    assert created.number == 1
    stored = repository.get("900", 1)
    assert stored == created
    assert stored is not None
    assert stored.status is CaseStatus.OPEN
    assert stored.attachments[0].source_url == "https://cdn/s.png"


def test_numbers_come_from_the_counter_one_after_another(repository: DynamoCaseRepository) -> None:
    numbers = [
        repository.create(draft(title=f"case {i}"), source_id=f"c{i}", now=NOW).number for i in range(12)
    ]
    assert numbers == list(range(1, 13))


def test_a_delivery_that_loses_the_race_gets_the_winners_case(
    repository: DynamoCaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two deliveries of one interaction: both look for the case before either has written it;
    # the first writes; the second's conditional transaction is cancelled and it returns the
    # first one's case. (Staged, not raced with threads: moto does not isolate concurrent
    # transactions the way DynamoDB does, so a threaded race would test moto, not this code.)
    winner = repository.create(draft(), source_id="same-interaction", now=NOW)
    real_lookup = repository.created_by
    lookups: list[str] = []

    def stale_first_lookup(source_id: str) -> Case | None:
        lookups.append(source_id)
        return None if len(lookups) == 1 else real_lookup(source_id)

    monkeypatch.setattr(repository, "created_by", stale_first_lookup)
    loser = repository.create(draft(title="written by the loser"), source_id="same-interaction", now=NOW)
    assert loser == winner
    assert len(lookups) == 2  # it did try to write, and fell back to the winner
    # Only the winner's case exists; the number the loser drew is skipped.
    assert [c.number for c in repository.list_by_reporter("111", limit=10)] == [winner.number]
    assert repository.get("900", winner.number + 1) is None


def test_cases_of_a_reporter_come_newest_first_with_one_query(repository: DynamoCaseRepository) -> None:
    for index in range(12):
        repository.create(draft(user_id="111" if index % 3 else "222"), source_id=f"s{index}", now=NOW)
    mine = repository.list_by_reporter("111", limit=5)
    assert [c.number for c in mine] == [12, 11, 9, 8, 6]
    assert all(c.reporter.user_id == "111" for c in mine)


def test_save_records_the_post_and_refuses_unknown_cases(repository: DynamoCaseRepository) -> None:
    case = repository.create(draft(), source_id="i1", now=NOW)
    posted = case.with_post(PostedMessage("c", "m"), case.attachments, NOW)
    saved = repository.save(posted)
    assert saved.version == case.version + 1
    assert repository.get("900", case.number) == saved
    with pytest.raises(VersionConflict):
        repository.save(replace(posted, number=999))


def test_a_save_over_a_newer_version_is_refused(repository: DynamoCaseRepository) -> None:
    case = repository.create(draft(), source_id="i1", now=NOW)
    repository.save(replace(case, title="first writer"))
    with pytest.raises(VersionConflict):
        repository.save(replace(case, title="second writer, from a stale read"))
    stored = repository.get("900", case.number)
    assert stored is not None
    assert stored.title == "first writer"


def test_numbers_are_per_server_and_a_servers_cases_are_queried_by_status(
    repository: DynamoCaseRepository,
) -> None:
    first = repository.create(draft(), source_id="a", now=NOW)
    other = repository.create(replace(draft(), guild_id="777"), source_id="b", now=NOW)
    second = repository.create(draft(), source_id="c", now=NOW)
    assert (first.number, other.number, second.number) == (1, 1, 2)
    repository.save(replace(second, status=CaseStatus.TRIAGED))
    assert [c.number for c in repository.list_by_status("900", CaseStatus.OPEN)] == [1]
    assert [c.number for c in repository.list_by_status("900", CaseStatus.TRIAGED)] == [2]
    assert [c.guild_id for c in repository.list_by_status("777", CaseStatus.OPEN)] == ["777"]


def job(user_id: str, interaction_id: str) -> Job:
    context = InteractionContext(interaction_id, "app", "token", user_id, "u", "U", (), None, None, "en-US")
    return Job.for_interaction(JobKind.LIST_CASES, context)


def test_jobs_are_grouped_by_member_and_deduplicated_by_interaction(aws: LocalResources) -> None:
    queue = SqsJobQueue(aws.job_queue_url)
    queue.enqueue(job("111", "i-1"))
    queue.enqueue(job("111", "i-1"))  # the same interaction delivered twice
    queue.enqueue(job("222", "i-2"))
    sqs = boto3.client("sqs")
    received = sqs.receive_message(
        QueueUrl=aws.job_queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(received) == 2
    by_id = {json.loads(m["Body"])["context"]["interaction_id"]: m["Attributes"] for m in received}
    assert by_id["i-1"]["MessageGroupId"] == "111"
    assert by_id["i-1"]["MessageDeduplicationId"] == "i-1"
    assert by_id["i-2"]["MessageGroupId"] == "222"


def test_a_burst_is_queued_ten_to_a_request_in_order_and_deduplicated(aws: LocalResources) -> None:
    queue = SqsJobQueue(aws.job_queue_url)
    jobs = [job("111", f"i-{index:02d}") for index in range(23)]
    queue.enqueue_many([*jobs, jobs[0]])  # the first again: dropped by its key
    sqs = boto3.client("sqs")
    received: list[str] = []
    while batch := sqs.receive_message(QueueUrl=aws.job_queue_url, MaxNumberOfMessages=10).get("Messages"):
        received += [json.loads(m["Body"])["context"]["interaction_id"] for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=aws.job_queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert received == [f"i-{index:02d}" for index in range(23)]


def test_a_burst_the_queue_refuses_raises_queue_unavailable(aws: LocalResources) -> None:
    with pytest.raises(QueueUnavailable):
        SqsJobQueue(aws.job_queue_url + "-missing").enqueue_many([job("1", "x")])


def test_the_relayed_mark_only_moves_forward_and_ends_with_the_session(aws: LocalResources) -> None:
    from flexcord.adapters.storage.session_repository import DynamoSessionRepository
    from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession

    sessions = DynamoSessionRepository(dynamodb_client(), aws.table_name)
    session = SupportSession(
        user_id="111",
        display_name="Alice",
        locale="en-US",
        guild_id="900",
        channel_id="dm-1",
        place=ChatPlace.DM,
        conversation_sid="CH" + "1" * 32,
        member_identity="member-x",
        mode=SessionMode.AGENT,
        opened_at=NOW,
    )
    sessions.open(session)
    assert sessions.for_conversation(session.conversation_sid).relayed_through == -1  # type: ignore[union-attr]
    sessions.record_relayed(session.conversation_sid, 0)  # Twilio's first message is index 0
    sessions.record_relayed(session.conversation_sid, 7)
    sessions.record_relayed(session.conversation_sid, 3)  # a late, older mark: ignored
    assert sessions.for_conversation(session.conversation_sid).relayed_through == 7  # type: ignore[union-attr]
    sessions.end(session)
    sessions.record_relayed(session.conversation_sid, 9)  # the chat is over: nothing comes back
    assert sessions.for_conversation(session.conversation_sid) is None


def _agent_session(user_id: str, conversation_sid: str) -> Any:
    from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession

    return SupportSession(
        user_id=user_id,
        display_name="Alice",
        locale="en-US",
        guild_id="900",
        channel_id="dm-" + user_id,
        place=ChatPlace.DM,
        conversation_sid=conversation_sid,
        member_identity="member-" + user_id,
        mode=SessionMode.AGENT,
        opened_at=NOW,
    )


def test_the_member_mark_only_moves_forward_and_only_for_its_own_chat(aws: LocalResources) -> None:
    from flexcord.adapters.storage.session_repository import DynamoSessionRepository

    sessions = DynamoSessionRepository(dynamodb_client(), aws.table_name)
    session = _agent_session("112", "CH" + "2" * 32)
    sessions.open(session)
    assert sessions.for_member("112").member_relayed_through == 0  # type: ignore[union-attr]

    sessions.record_member_relayed(session, 1400000000000000002)
    sessions.record_member_relayed(session, 1400000000000000001)  # a late, older mark: ignored
    assert sessions.for_member("112").member_relayed_through == 1400000000000000002  # type: ignore[union-attr]

    # The chat ends and the member opens another: the old chat's late mark does not touch it.
    sessions.end(session)
    newer = _agent_session("112", "CH" + "3" * 32)
    sessions.open(newer)
    sessions.record_member_relayed(session, 1400000000000000009)
    assert sessions.for_member("112").member_relayed_through == 0  # type: ignore[union-attr]
    sessions.end(newer)
    sessions.record_member_relayed(newer, 1400000000000000010)  # ended: nothing comes back
    assert sessions.for_member("112") is None


def test_saving_an_older_copy_leaves_both_relay_marks_where_they_are(aws: LocalResources) -> None:
    from flexcord.adapters.storage.session_repository import DynamoSessionRepository

    sessions = DynamoSessionRepository(dynamodb_client(), aws.table_name)
    session = _agent_session("113", "CH" + "4" * 32)
    sessions.open(session)
    stale = sessions.for_member("113")
    assert stale is not None
    sessions.record_relayed(session.conversation_sid, 5)
    sessions.record_member_relayed(session, 1400000000000000003)

    # Another job, holding the session as it was before both marks, changes the agent's name.
    sessions.save(stale.with_agent("Sam"))

    by_member = sessions.for_member("113")
    by_conversation = sessions.for_conversation(session.conversation_sid)
    assert by_member is not None
    assert by_conversation is not None
    assert by_member.agent_name == by_conversation.agent_name == "Sam"
    assert by_conversation.relayed_through == 5
    assert by_member.member_relayed_through == 1400000000000000003
    sessions.end(session)


def test_saving_a_session_that_ended_brings_nothing_back_nor_writes_over_the_next_chat(
    aws: LocalResources,
) -> None:
    from flexcord.adapters.storage.session_repository import DynamoSessionRepository

    sessions = DynamoSessionRepository(dynamodb_client(), aws.table_name)
    first = _agent_session("114", "CH" + "5" * 32)
    sessions.open(first)
    sessions.end(first)
    sessions.save(first.with_agent("Sam"))  # a job that finished after the chat ended
    assert sessions.for_member("114") is None
    assert sessions.for_conversation(first.conversation_sid) is None

    second = _agent_session("114", "CH" + "6" * 32)
    sessions.open(second)
    sessions.save(first.with_agent("Sam"))
    stored = sessions.for_member("114")
    assert stored is not None
    assert stored.conversation_sid == second.conversation_sid
    assert stored.agent_name is None
    sessions.end(second)


def test_an_unreachable_queue_raises_queue_unavailable(aws: LocalResources) -> None:
    with pytest.raises(QueueUnavailable):
        SqsJobQueue(aws.job_queue_url + "-missing").enqueue(job("1", "x"))


def test_the_queues_follow_the_template(aws: LocalResources) -> None:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=aws.job_queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == aws.max_receive_count >= 2
    assert redrive["deadLetterTargetArn"].endswith("JobDeadLetterQueue.fifo")
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=aws.table_name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_cases_written_before_per_server_numbering_stay_out_of_a_reporters_list(
    repository: DynamoCaseRepository, aws: LocalResources
) -> None:
    # An older version's item: CASE#<n>, sorted by CASE#<n:010> in the reporter index.
    legacy = {
        "pk": {"S": "CASE#7"},
        "sk": {"S": "CASE"},
        "gsi1pk": {"S": "REPORTER#111"},
        "gsi1sk": {"S": "CASE#0000000007"},
    }
    dynamodb_client().put_item(TableName=aws.table_name, Item=legacy)
    current = repository.create(draft(), source_id="new", now=NOW)
    assert [c.number for c in repository.list_by_reporter("111", limit=1)] == [current.number]
    assert [c.number for c in repository.list_by_reporter("111", limit=10)] == [current.number]
