"""The worker's delivery schedule, on in-memory fakes: when a job runs, when it is retried, and
that the member hears about every job that will not be done (issue 7's defects 7, 8 and 13)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from flexcord.adapters.discord import DiscordClient, RateLimited
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.worker import (
    NOT_STARTED_RETRY_SECONDS,
    RETRY_BASE_SECONDS,
    JobWorker,
    SelfDeduplicating,
    retry_delay,
)
from tests.unit.adapters.discord.conftest import StubDiscord

MAX_RECEIVES = 3


class InMemoryPersistence(BasePersistenceLayer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        """As DynamoDB's conditional put: refused while a record is live (done and unexpired, or
        in progress with its lock unexpired)."""
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not existing.is_expired:
            lock = existing.in_progress_expiry_timestamp
            if existing.status == "COMPLETED" or (lock is not None and lock > time.time() * 1000):
                raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


class RecordingQueue:
    def __init__(self) -> None:
        self.delays: dict[str, int] = {}

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        self.delays[receipt_handle] = seconds


class RecordingDiscord:
    """Only what ``tell_member`` uses: editing the deferred reply; and the route-wait cap."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []
        self.route_wait_cap: float | None = None

    @contextlib.contextmanager
    def route_waits_capped(self, seconds: float) -> Iterator[None]:
        self.route_wait_cap = seconds
        try:
            yield
        finally:
            self.route_wait_cap = None

    def edit_original_response(self, token: str, *, content: str | None = None, **_: Any) -> dict[str, Any]:
        self.told.append((token, content or ""))
        return {}


class InMemoryJobPosts:
    def __init__(self) -> None:
        self.kept: dict[str, dict[str, str]] = {}
        self.reads: list[str] = []

    def earlier(self, job_key: str, *, now: float) -> dict[str, str]:
        self.reads.append(job_key)
        return dict(self.kept.get(job_key, {}))

    def keep(self, job_key: str, posts: Mapping[str, str], *, now: float) -> None:
        self.kept[job_key] = dict(posts)


class Context:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "WorkerFunction"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:WorkerFunction"
        self.aws_request_id = "request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def member_job(user: str, number: int, kind: JobKind = JobKind.SHOW_CASE) -> Job:
    context = InteractionContext(
        interaction_id=f"{user}-{number}",
        application_id="app",
        token=f"token-{user}-{number}",
        user_id=user,
        username=user,
        display_name=user.title(),
        roles=(),
        guild_id="guild",
        channel_id="channel",
        locale="en-US",
    )
    return Job.for_interaction(kind, context, {"number": number})


def record(job: Job, receive_count: int) -> dict[str, Any]:
    return {
        "messageId": job.key,
        "receiptHandle": f"receipt-{job.key}",
        "body": job.to_json(),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "0",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "0",
            "MessageGroupId": job.group,
            "MessageDeduplicationId": job.key,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:jobs.fifo",
        "awsRegion": "us-east-1",
    }


def make_worker(
    executor: Callable[[Job], dict[str, Any]],
    *,
    report_undelivered: Callable[[Job], bool] | None = None,
    max_receive_count: int = MAX_RECEIVES,
    self_deduplicating: SelfDeduplicating | None = None,
    persistence: InMemoryPersistence | None = None,
    discord: RecordingDiscord | None = None,
    job_posts: InMemoryJobPosts | None = None,
) -> tuple[JobWorker, RecordingQueue, RecordingDiscord]:
    queue, discord = RecordingQueue(), discord or RecordingDiscord()
    worker = JobWorker(
        executors={JobKind.SHOW_CASE: executor, JobKind.CONVERSATION_EVENT: executor},
        discord=discord,  # type: ignore[arg-type]
        persistence=persistence or InMemoryPersistence(),
        max_receive_count=max_receive_count,
        queue=queue,  # type: ignore[arg-type]
        report_undelivered=report_undelivered,
        self_deduplicating=self_deduplicating,
        job_posts=job_posts,
    )
    return worker, queue, discord


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def run(worker: JobWorker, records: list[dict[str, Any]], context: Context | None = None) -> set[str]:
    """The ids SQS keeps (reported failures; all of them when the whole batch failed)."""
    try:
        return failed_ids(dict(worker.handle_batch({"Records": records}, context or Context())))  # type: ignore[arg-type]
    except BatchProcessingError:
        return {str(r["messageId"]) for r in records}


def test_a_members_jobs_skipped_behind_a_failure_come_back_with_it() -> None:
    """Defect 8: the skipped jobs kept the queue's 360 s visibility and held the group back."""

    def fail_first(job: Job) -> dict[str, Any]:
        if job.payload["number"] == 1:
            raise RuntimeError("Twilio is down")
        return {}

    worker, queue, _ = make_worker(fail_first)
    first, second, third = (member_job("ann", n) for n in (1, 2, 3))
    other = member_job("bob", 4)
    failed = run(worker, [record(first, 1), record(second, 1), record(third, 1), record(other, 1)])
    assert failed == {first.key, second.key, third.key}
    assert queue.delays == {f"receipt-{job.key}": RETRY_BASE_SECONDS for job in (first, second, third)}


def test_the_retry_schedule_grows_and_honours_discords_retry_after() -> None:
    """Defect 13: retries ignored Discord's retry_after."""
    assert [retry_delay(attempt, RuntimeError()) for attempt in (1, 2, 3, 4, 5, 6)] == [
        30,
        60,
        120,
        240,
        300,
        300,
    ]
    limited = RateLimited(retry_after=900.2, is_global=True)
    assert retry_delay(1, limited) == 901
    wrapped = RuntimeError("job failed")
    wrapped.__cause__ = limited
    assert retry_delay(2, wrapped) == 901
    # A bucket that resets in 3 s brings the job back in 3 s, not after the attempt's backoff.
    assert retry_delay(4, RateLimited(retry_after=3, is_global=False)) == 3
    assert retry_delay(1, RateLimited(retry_after=0.2, is_global=False)) == 1


def test_a_rate_limited_job_and_its_group_wait_out_retry_after() -> None:
    def rate_limited(job: Job) -> dict[str, Any]:
        raise RateLimited(retry_after=600, is_global=True)

    worker, queue, _ = make_worker(rate_limited)
    first, second = member_job("ann", 1), member_job("ann", 2)
    run(worker, [record(first, 1), record(second, 1)])
    assert set(queue.delays.values()) == {600}


def test_the_last_delivery_tells_the_member_instead_of_running() -> None:
    """Defect 7: a crash or timeout on the last run left nobody to tell the member; now the last
    delivery is kept for the notice."""
    ran: list[str] = []

    def executor(job: Job) -> dict[str, Any]:
        ran.append(job.key)
        return {}

    worker, _, discord = make_worker(executor)
    job, later = member_job("ann", 1), member_job("ann", 2)
    failed = run(worker, [record(job, MAX_RECEIVES), record(later, 1)])
    assert ran == []
    assert failed == {job.key, later.key}
    [(token, text)] = discord.told
    assert token == job.interaction.token
    assert text.startswith("⚠️ Sorry, Flexcord couldn't load that case")


def test_a_job_done_by_an_earlier_delivery_is_not_reported_as_failed() -> None:
    worker, _, discord = make_worker(lambda job: {"shown": True})
    job = member_job("ann", 1)
    assert run(worker, [record(job, 1)]) == set()
    assert run(worker, [record(job, MAX_RECEIVES)]) == set()  # a redelivery after a lost delete
    assert discord.told == []


def test_a_job_not_started_for_lack_of_time_comes_back_at_once_and_is_told_on_its_last_delivery() -> None:
    """Defect 7: the "not enough time left" guard dead-lettered jobs without a word."""
    ran: list[str] = []
    worker, queue, discord = make_worker(lambda job: ran.append(job.key) or {})
    job = member_job("ann", 1)
    assert run(worker, [record(job, 1)], Context(remaining_ms=5_000)) == {job.key}
    assert ran == []
    assert queue.delays[f"receipt-{job.key}"] == NOT_STARTED_RETRY_SECONDS
    assert run(worker, [record(job, MAX_RECEIVES)], Context(remaining_ms=5_000)) == {job.key}
    assert [text for _, text in discord.told] == [
        "⚠️ Sorry, Flexcord couldn't load that case after several tries. Our team has been alerted and "
        "will follow up; please don't resend it yet."
    ]


def test_a_failed_job_no_member_asked_for_is_reported_through_the_chat() -> None:
    """Defect 7: an agent's message dead-lettered told nobody."""
    reported: list[str] = []
    worker, _, _ = make_worker(
        lambda job: {}, report_undelivered=lambda job: reported.append(job.key) or True
    )
    event = Job(
        JobKind.CONVERSATION_EVENT, key="message:IM1", group="CH1", payload={"ConversationSid": "CH1"}
    )
    assert run(worker, [record(event, MAX_RECEIVES)]) == {"message:IM1"}
    assert reported == ["message:IM1"]


def test_an_unreadable_job_is_retried_then_dead_lettered() -> None:
    worker, _, discord = make_worker(lambda job: {})
    broken = record(member_job("ann", 1), 1)
    broken["body"] = json.dumps({"kind": "no.such.kind"})
    assert run(worker, [broken]) == {broken["messageId"]}
    assert discord.told == []


@pytest.mark.parametrize("attempt", [1, 2])
def test_the_attempt_reaches_the_job_but_never_the_queue(attempt: int) -> None:
    seen: list[int] = []
    worker, _, _ = make_worker(lambda job: seen.append(job.attempt) or {})
    job = member_job("ann", attempt)
    run(worker, [record(job, attempt)])
    assert seen == [attempt]
    assert "attempt" not in json.loads(job.to_json())


def test_a_job_locked_by_another_delivery_comes_back_when_the_lock_expires() -> None:
    """A delivery that did the work but could not record it leaves the job locked until its
    invocation's deadline; redeliveries must not spend the job's deliveries on that lock."""
    ran: list[str] = []
    worker, queue, discord = make_worker(lambda job: ran.append(job.key) or {})
    job = member_job("ann", 1)
    persistence = worker._persistence
    persistence.configure(
        config=worker.idempotency_config,
        function_name=f"{JobWorker._run.__module__}.{JobWorker._run.__qualname__}",
    )
    persistence.save_inprogress(data=json.loads(job.to_json()), remaining_time_in_millis=40_000)
    assert run(worker, [record(job, 1)]) == {job.key}
    assert ran == []
    assert 35 <= queue.delays[f"receipt-{job.key}"] <= 41
    assert discord.told == []


def route_limited(discord: RecordingDiscord) -> tuple[Callable[[Job], dict[str, Any]], list[float | None]]:
    """An executor that a channel's bucket (4.2 s to its reset) stops when the worker capped the
    client's route waits; it records the cap each run saw."""
    caps: list[float | None] = []

    def execute(job: Job) -> dict[str, Any]:
        caps.append(discord.route_wait_cap)
        # Ann's DM channel is the one whose bucket is spent.
        if discord.route_wait_cap is not None and job.context is not None and job.context.user_id == "ann":
            raise RateLimited(retry_after=4.2, is_global=False)
        return {"ran": True}  # the client would have waited the 4.2 s out

    return execute, caps


EVERY_JOB_RELAYS = SelfDeduplicating(covers=lambda job: True, done=lambda job: False)


def test_a_relay_a_channel_limit_holds_up_goes_back_until_the_reset_on_its_first_delivery() -> None:
    """A worker that slept 5 s on one member's DM bucket served nobody else meanwhile."""
    discord = RecordingDiscord()
    execute, caps = route_limited(discord)
    worker, queue, _ = make_worker(execute, self_deduplicating=EVERY_JOB_RELAYS, discord=discord)
    first, second, other = member_job("ann", 1), member_job("ann", 2), member_job("bob", 3)
    failed = run(worker, [record(first, 1), record(second, 1), record(other, 1)])
    # Ann's jobs come back when her channel's bucket resets (not after the 30 s backoff).
    assert failed == {first.key, second.key}  # Bob's ran: the worker did not sleep on Ann's bucket
    assert queue.delays == {f"receipt-{first.key}": 5, f"receipt-{second.key}": 5}
    assert caps == [1.0, 1.0]  # Ann's first (her second was skipped behind it) and Bob's


#: Self-deduplicating, like a member's message, but several steps long: never handed back.
EVERY_JOB_DEDUPLICATES_NONE_DEFERS = SelfDeduplicating(
    covers=lambda job: True, done=lambda job: False, deferrable=lambda job: False
)


@pytest.mark.parametrize(
    ("relays", "attempt", "receives"),
    [
        (EVERY_JOB_RELAYS, 2, 3),
        (None, 1, 3),
        (EVERY_JOB_RELAYS, 1, 2),
        (EVERY_JOB_DEDUPLICATES_NONE_DEFERS, 1, 3),
    ],
)
def test_other_jobs_later_deliveries_and_short_queues_wait_the_limit_out_in_the_client(
    relays: SelfDeduplicating | None, attempt: int, receives: int
) -> None:
    """A job of several steps is not handed back half-done, a relay once at most, and never when
    the queue has only two deliveries to give (one would be gone for a rate limit)."""
    discord = RecordingDiscord()
    execute, caps = route_limited(discord)
    worker, queue, _ = make_worker(
        execute,
        self_deduplicating=relays,
        max_receive_count=receives,
        discord=discord,
    )
    assert run(worker, [record(member_job("ann", 1), attempt)]) == set()
    assert caps == [None]
    assert queue.delays == {}


def agent_message(sid: str = "IM1") -> Job:
    return Job(
        kind=JobKind.CONVERSATION_EVENT,
        key=f"message:{sid}",
        group="CH1",
        payload={"EventType": "onMessageAdded", "MessageSid": sid, "Index": "4", "ConversationSid": "CH1"},
    )


def test_a_self_deduplicating_job_runs_without_an_idempotency_record() -> None:
    persistence = InMemoryPersistence()
    relayed: list[str] = []
    worker, _, _ = make_worker(
        lambda job: relayed.append(job.key) or {"acted": True},
        persistence=persistence,
        self_deduplicating=SelfDeduplicating(
            covers=lambda job: job.key.startswith("message:"), done=lambda _: False
        ),
    )
    message, other = agent_message(), member_job("ann", 1)
    assert run(worker, [record(message, 1), record(other, 1)]) == set()
    assert relayed == [message.key, other.key]
    # Only the job that does not deduplicate itself left a record.
    assert len(persistence.records) == 1


@pytest.mark.parametrize(("done", "told"), [(True, False), (False, True)])
def test_on_its_last_delivery_a_self_deduplicating_job_asks_itself_whether_it_was_done(
    done: bool, told: bool
) -> None:
    reported: list[str] = []
    worker, _, _ = make_worker(
        lambda job: {"acted": True},
        report_undelivered=lambda job: reported.append(job.key) or True,
        self_deduplicating=SelfDeduplicating(covers=lambda job: True, done=lambda job: done),
    )
    message = agent_message()
    failed = run(worker, [record(message, MAX_RECEIVES)])
    assert (failed == set()) is done
    assert bool(reported) is told


@pytest.fixture
def stub_discord() -> Iterator[StubDiscord]:
    stub = StubDiscord()
    stub.start()
    yield stub
    stub.stop()


def test_a_retry_finds_what_its_failed_attempt_posted_instead_of_posting_it_again(
    stub_discord: StubDiscord,
) -> None:
    """The hand-off's "Case #" notice was posted, then answering the member failed: the retry,
    minutes later, found Discord's nonce forgotten and posted the notice a second time."""
    client = DiscordClient(base_url=stub_discord.api_url, application_id="app", bot_token="token")
    attempts: list[Job] = []

    def post_then_fail_once(job: Job) -> dict[str, Any]:
        attempts.append(job)
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
        if len(attempts) == 1:
            raise RuntimeError("the member's answer failed")
        return {}

    posts = InMemoryJobPosts()
    worker, _, _ = make_worker(post_then_fail_once, job_posts=posts)
    job = member_job("ann", 1)
    assert run(worker, [record(job, 1)]) == {job.key}
    assert posts.reads == []  # a first delivery reads nothing
    assert posts.kept == {job.key: {"42/queued-7": "1"}}
    assert run(worker, [record(job, 2)]) == set()
    assert [(request.method, request.path) for request in stub_discord.requests] == [
        ("POST", "/api/v10/channels/42/messages"),
        ("GET", "/api/v10/channels/42/messages/1"),
    ]


def test_an_attempt_that_posted_nothing_writes_nothing_and_reads_nothing(stub_discord: StubDiscord) -> None:
    def fail(job: Job) -> dict[str, Any]:
        raise RuntimeError("Twilio is down")

    posts = InMemoryJobPosts()
    worker, _, _ = make_worker(fail, job_posts=posts)
    job = member_job("ann", 1)
    run(worker, [record(job, 1)])
    run(worker, [record(job, 2)])
    assert posts.kept == {}
    assert posts.reads == []  # a retry that posts nothing does not look either


def interaction_job(made_seconds_ago: float) -> Job:
    """A job whose interaction id is a real snowflake, made ``made_seconds_ago``."""
    made_ms = int((time.time() - made_seconds_ago) * 1000) - 1_420_070_400_000
    job = member_job("ann", 1)
    assert job.context is not None
    context = replace(job.context, interaction_id=str(made_ms << 22))
    return Job.for_interaction(JobKind.SHOW_CASE, context, {"number": 1})


def test_a_job_redriven_from_the_dead_letter_queue_looks_for_what_it_posted(
    stub_discord: StubDiscord,
) -> None:
    """A redrive starts the receive count again at 1: a first delivery of an interaction older
    than Discord's nonce may have run before, so it reads the record when it posts."""
    client = DiscordClient(base_url=stub_discord.api_url, application_id="app", bot_token="token")

    def post(job: Job) -> dict[str, Any]:
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
        return {}

    posts = InMemoryJobPosts()
    worker, _, _ = make_worker(post, job_posts=posts)
    redriven, fresh = interaction_job(made_seconds_ago=3600), interaction_job(made_seconds_ago=2)
    posts.kept[redriven.key] = {"42/queued-7": "9"}
    assert run(worker, [record(redriven, 1)]) == set()
    assert run(worker, [record(fresh, 1)]) == set()
    assert posts.reads == [redriven.key]  # the fresh one did not look
    assert [request.method for request in stub_discord.requests] == ["GET", "POST"]


def test_a_record_that_could_not_be_read_is_not_overwritten(stub_discord: StubDiscord) -> None:
    client = DiscordClient(base_url=stub_discord.api_url, application_id="app", bot_token="token")

    class UnreadablePosts(InMemoryJobPosts):
        def earlier(self, job_key: str, *, now: float) -> dict[str, str]:
            raise RuntimeError("DynamoDB is throttling")

    def post_then_fail(job: Job) -> dict[str, Any]:
        client.create_message("42", content="📨 Case #7", nonce="queued-7")
        raise RuntimeError("the member's answer failed")

    posts = UnreadablePosts()
    posts.kept["ann-1"] = {"42/earlier": "1"}
    worker, _, _ = make_worker(post_then_fail, job_posts=posts)
    job = member_job("ann", 1)
    assert run(worker, [record(job, 2)]) == {job.key}
    assert posts.kept == {"ann-1": {"42/earlier": "1"}}  # what the earlier attempt posted stays
