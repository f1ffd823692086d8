"""Burst drain (issue 12): agents answer many members at once, and the worker instances together
must deliver every message, in order per member, at Discord's global limit and never past it.

    .venv/bin/python scripts/bench_burst.py [--messages 2000] [--members 200] [--instances 5]

The local stack runs with the Discord emulator enforcing Discord's limits (50 requests/s per bot
over a sliding second, 5 message creates per 5 s per channel). ``members`` support chats are
with an agent (their sessions written through the session repository, as the worker's hand-off
leaves them), and ``messages`` agent messages, one round across every member after another, are
queued as the conversation-events endpoint queues them: one FIFO job per Twilio message, grouped
by conversation (SendMessageBatch, ten a request, so that the whole burst is queued within a
second, as it would be by many endpoint instances at once).

``instances`` worker instances drain the queue: each a separate process (a Lambda container)
running the real worker handler behind an SQS poller that, like Lambda's event source mapping,
leaves a failed message's visibility as the worker set it. Each process keeps to its share of
the global limit (WORKER_MAX_CONCURRENCY = ``instances``, as the template sets it from the
event source's MaximumConcurrency). The instances are started and warmed before the burst: a
cold start is measured by ``make bench`` on its own.

Figures: the time from the first job queued to the last message in its member's DM, against the
floor of ``messages`` / 50 per second; every message delivered once, in order per member; the
emulator's 429s, global (budget 0) and per route; and the dead-letter queue (budget empty).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from scripts.bench_report import Figure, summary  # noqa: E402

LOG_DIRECTORY = ROOT / ".bench" / "burst"
AGENT_IDENTITY, AGENT_NAME = "burst_agent", "Burst Agent"
GLOBAL_LIMIT_PER_SECOND = 50
DRAIN_BUDGET = 1.1  # x the floor
QUEUE_BUDGET_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 60.0
PROBE_SECONDS = 0.01


@dataclass(frozen=True)
class Member:
    user_id: str
    dm_channel_id: str
    conversation_sid: str


@dataclass
class BurstRun:
    figures: list[Figure]
    seconds: float


# -- the members and their messages ---------------------------------------------------------------


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def seat_members(stack: Any, count: int) -> list[Member]:
    """``count`` members, each in a support chat an agent has taken (DM place, AGENT mode)."""
    from flexcord.sessions.model import ChatPlace, SessionMode, SupportSession
    from flexcord.wiring import session_repository

    discord = stack.discord
    sessions = session_repository()
    opened_at = datetime.now(UTC).isoformat()
    members = []
    for index in range(count):
        name = f"burst_member_{index:03d}"
        user = discord.add_user(name)
        member = Member(str(user["id"]), discord.dm_channel_id(name), _sid("CH"))
        sessions.open(
            SupportSession(
                user_id=member.user_id,
                display_name=name,
                locale="en-US",
                guild_id=discord.guild_id,
                channel_id=member.dm_channel_id,
                place=ChatPlace.DM,
                conversation_sid=member.conversation_sid,
                member_identity=_sid("member-"),
                mode=SessionMode.AGENT,
                opened_at=opened_at,
                agent_name=AGENT_NAME,
                handed_to_flex=True,
            )
        )
        members.append(member)
    return members


def text_of(member_index: int, sequence: int) -> str:
    return f"burst {member_index:03d} #{sequence:03d}"


def agent_message_jobs(members: list[Member], messages: int) -> list[Any]:
    """The jobs the conversation-events endpoint queues for ``messages`` agent messages, sent
    one round across every member after another."""
    from flexcord.jobs.model import Job, JobKind

    jobs = []
    for number in range(messages):
        member_index, sequence = number % len(members), number // len(members)
        member = members[member_index]
        message_sid = _sid("IM")
        jobs.append(
            Job(
                kind=JobKind.CONVERSATION_EVENT,
                key=f"message:{message_sid}",
                group=member.conversation_sid,
                payload={
                    "EventType": "onMessageAdded",
                    "Source": "SDK",
                    "ConversationSid": member.conversation_sid,
                    "MessageSid": message_sid,
                    "Index": str(sequence + 1),
                    "Body": text_of(member_index, sequence),
                    "Author": AGENT_IDENTITY,
                    "ParticipantSid": "MB" + "0" * 32,
                    "DateCreated": datetime.now(UTC).isoformat(),
                },
            )
        )
    return jobs


# -- worker instances (one process each) ----------------------------------------------------------


@contextlib.contextmanager
def worker_instances(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` worker processes on the stack's queue (its environment is this process's), each
    started and warmed; stopped on exit."""
    LOG_DIRECTORY.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "WORKER_MAX_CONCURRENCY": str(count), "PYTHONUNBUFFERED": "1"}
    processes: list[subprocess.Popen[bytes]] = []
    ready_files = [LOG_DIRECTORY / f"worker-{index}.ready" for index in range(count)]
    try:
        for index, ready_file in enumerate(ready_files):
            ready_file.unlink(missing_ok=True)
            with (LOG_DIRECTORY / f"worker-{index}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker-instance", "--ready-file", str(ready_file)],
                        env=environment,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not all(path.exists() for path in ready_files):
            if any(process.poll() is not None for process in processes):
                raise RuntimeError(f"a worker instance exited early; see {LOG_DIRECTORY}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker instances not ready after {READY_TIMEOUT_SECONDS:.0f} s")
            time.sleep(0.05)
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def run_worker_instance(ready_file: Path) -> int:
    """One worker container: the handler loaded and its graph built, then SQS polled until
    SIGTERM."""
    from devstack.lambda_runtime import load_handler
    from devstack.poller import SqsPoller
    from devstack.template import function_spec, load_template

    spec = function_spec(load_template(), "WorkerFunction")
    module_name = "local_WorkerFunction"
    handler = load_handler(spec.handler_file, spec.handler_name, module_name)
    sys.modules[module_name].worker()  # what the first invocation would build
    queue_url = os.environ["JOB_QUEUE_URL"]
    poller = SqsPoller(
        queue_url=queue_url,
        queue_arn=_queue_arn(queue_url),
        handler=handler,
        function_name="WorkerFunction",
        timeout_seconds=spec.timeout_seconds,
        # As Lambda: a failed message comes back when the worker said (its retry schedule).
        retry_delay_seconds=None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    poller.start()
    ready_file.touch()
    stop.wait()
    poller.stop()
    return 0


def send_burst(jobs: list[Any], senders: int = 2) -> tuple[float, float]:
    """Queue ``jobs`` from ``senders`` processes at once, as many ConversationEvents instances
    would (in this process, moto and the botocore client would share one core). A member's jobs
    all go through one sender, in order. Returns the wall-clock time the first send began and
    the seconds until the last one was queued."""
    LOG_DIRECTORY.mkdir(parents=True, exist_ok=True)
    go = LOG_DIRECTORY / "send.go"
    go.unlink(missing_ok=True)
    processes, results = [], []
    for index in range(senders):
        mine = [job for job in jobs if hash(job.group) % senders == index]
        batch = LOG_DIRECTORY / f"send-{index}.jsonl"
        batch.write_text("".join(job.to_json() + "\n" for job in mine), encoding="utf-8")
        result = LOG_DIRECTORY / f"send-{index}.result"
        result.unlink(missing_ok=True)
        results.append(result)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--send-jobs",
                    str(batch),
                    "--go-file",
                    str(go),
                    "--result-file",
                    str(result),
                ],
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        )
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not all(path.with_suffix(".ready").exists() for path in results):
        if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
            raise RuntimeError("a burst sender did not start")
        time.sleep(0.01)
    began = time.time()
    go.touch()
    for process in processes:
        if process.wait(timeout=READY_TIMEOUT_SECONDS) != 0:
            raise RuntimeError("a burst sender failed")
    finished = max(float(path.read_text()) for path in results)
    return began, finished - began


def run_sender(batch: Path, go_file: Path, result_file: Path) -> int:
    """One burst sender: its jobs read and its SQS client connected, then sent on the signal."""
    from flexcord.adapters.queue.job_queue import job_queue
    from flexcord.jobs.model import Job

    jobs = [Job.from_json(line) for line in batch.read_text(encoding="utf-8").splitlines()]
    queue = job_queue()
    queue._client.get_queue_attributes(QueueUrl=os.environ["JOB_QUEUE_URL"], AttributeNames=["QueueArn"])
    result_file.with_suffix(".ready").touch()
    while not go_file.exists():
        time.sleep(0.001)
    queue.enqueue_many(jobs)
    result_file.write_text(repr(time.time()))
    return 0


def _queue_arn(queue_url: str) -> str:
    import boto3

    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


# -- the run --------------------------------------------------------------------------------------


def delivered_messages(stack: Any, members: list[Member]) -> list[list[str]]:
    """Each member's DM, as the texts of its messages in the order Discord stored them."""
    world = stack.discord.world
    with world.lock:
        return [
            [
                world.messages[message_id].content
                for message_id in world.channel_message_ids.get(m.dm_channel_id, [])
            ]
            for m in members
        ]


def _delivered_count(stack: Any, members: list[Member]) -> int:
    world = stack.discord.world
    with world.lock:
        return sum(len(world.channel_message_ids.get(m.dm_channel_id, [])) for m in members)


def _queue_counts(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(value) for value in attributes.values())


def run(
    messages: int = 2000, members: int = 200, instances: int = 5, timeout: float | None = None
) -> BurstRun:
    if members < 1 or messages < members or instances < 1:
        raise ValueError("need at least one member, a message for each, and one worker instance")
    import boto3

    from devstack.stack import LocalStack
    from scripts.bench_relay import logs_to

    began = time.perf_counter()
    floor = messages / GLOBAL_LIMIT_PER_SECOND
    timeout = timeout if timeout is not None else max(60.0, 4 * floor)
    LOG_DIRECTORY.mkdir(parents=True, exist_ok=True)
    stack_under_test = LocalStack(parameters={"WorkerMaxConcurrency": instances}, moto_in_own_process=True)
    with (
        (LOG_DIRECTORY / "stack.log").open("w", encoding="utf-8") as log_file,
        logs_to(log_file),
        stack_under_test as stack,
    ):
        assert stack.poller is not None
        assert stack.resources is not None
        assert stack.discord is not None
        stack.poller.stop()  # the worker instances below are the only consumers
        seated = seat_members(stack, members)
        jobs = agent_message_jobs(seated, messages)
        sqs = boto3.client("sqs")
        limiter = stack.discord.rate_limiter
        refused_before = dict(limiter.refusals)
        with worker_instances(instances):
            started, queued_seconds = send_burst(jobs)
            deadline = started + timeout
            while _delivered_count(stack, seated) < messages and time.time() < deadline:
                time.sleep(PROBE_SECONDS)
            drain_seconds = time.time() - started
            # Stragglers: a duplicate would show up after the last expected message.
            time.sleep(1.0)
            left_in_queue = _queue_counts(sqs, stack.resources.job_queue_url)
        dead_lettered = _queue_counts(sqs, stack.resources.dead_letter_queue_url)
        dms = delivered_messages(stack, seated)
        refusals = {
            kind: limiter.refusals[kind] - refused_before.get(kind, 0) for kind in ("global", "route")
        }
    return BurstRun(
        figures_for(
            messages=messages,
            members=members,
            instances=instances,
            dms=dms,
            queued_seconds=queued_seconds,
            drain_seconds=drain_seconds,
            refusals=refusals,
            dead_lettered=dead_lettered,
            left_in_queue=left_in_queue,
        ),
        time.perf_counter() - began,
    )


def figures_for(
    *,
    messages: int,
    members: int,
    instances: int,
    dms: list[list[str]],
    queued_seconds: float,
    drain_seconds: float,
    refusals: dict[str, int],
    dead_lettered: int,
    left_in_queue: int,
) -> list[Figure]:
    per_member = messages // members
    expected = [
        [
            f"**{AGENT_NAME}:** {text_of(member, sequence)}"
            for sequence in range(per_member + (member < messages % members))
        ]
        for member in range(members)
    ]
    delivered = sum(len(dm) for dm in dms)
    in_order = sum(dm == want for dm, want in zip(dms, expected, strict=True))
    floor = messages / GLOBAL_LIMIT_PER_SECOND
    label = f"burst: {messages:,} agent messages to {members} members, {instances} worker instances"
    return [
        Figure(f"{label}: queued in", round(queued_seconds, 2), "s", f"<= {QUEUE_BUDGET_SECONDS:g}"),
        Figure(f"{label}: delivered", delivered, "messages", f"== {messages}"),
        Figure(f"{label}: members with every message once, in order", in_order, "members", f"== {members}"),
        Figure(f"{label}: drain time", round(drain_seconds, 1), "s", note=f"floor {floor:g} s"),
        Figure(
            f"{label}: drain time / floor ({messages:,} / 50 per s)",
            round(drain_seconds / floor, 3),
            "x",
            f"<= {DRAIN_BUDGET}",
        ),
        Figure(f"{label}: global-limit 429s", refusals["global"], "responses", "== 0"),
        Figure(
            f"{label}: per-route 429s (a worker not yet told of a channel's bucket)",
            refusals["route"],
            "responses",
            None,
        ),
        Figure(f"{label}: dead-lettered", dead_lettered, "jobs", "== 0"),
        Figure(f"{label}: left in the queue", left_in_queue, "jobs", "== 0"),
    ]


def measure(messages: int = 2000, members: int = 200, instances: int = 5) -> list[Figure]:
    """The burst figures (make bench)."""
    return run(messages, members, instances).figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--messages", type=int, default=2000, help="agent messages in the burst (default 2000)"
    )
    parser.add_argument("--members", type=int, default=200, help="members they go to (default 200)")
    parser.add_argument("--instances", type=int, default=5, help="worker instances at once (default 5)")
    parser.add_argument("--worker-instance", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--send-jobs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--go-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker_instance:
        return run_worker_instance(arguments.ready_file)
    if arguments.send_jobs:
        return run_sender(arguments.send_jobs, arguments.go_file, arguments.result_file)
    result = run(arguments.messages, arguments.members, arguments.instances)
    print(summary(result.figures))
    print(f"\nran in {result.seconds:.1f} s; logs: {LOG_DIRECTORY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
