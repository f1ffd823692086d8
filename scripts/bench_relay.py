"""Relay figures through the local stack (issue 12): how long a message takes each way once a
support chat is with an agent, and how much work each relayed message costs.

    .venv/bin/python scripts/bench_relay.py [--messages 200] [--warmup 10]

One member opens a chat (/helpme), asks for a human (the welcome's button), and a scripted Flex
agent accepts the task. Then, one message at a time (the next is sent once the previous one's
work is over, and no sooner than one worker instance's share of Discord's global limit allows:
0.12 s apart with the default five instances, so the limiter's pacing is not what is timed):

- member -> Twilio: the member's ``/reply message:...`` (the Discord emulator's ``run_command``)
  until the message is in the Twilio conversation;
- agent -> member: the Twilio emulator's ``agent_say`` until the member's DM shows it.

Latency is ``time.perf_counter`` from just before the action to the first 1 ms probe that sees
the message (read from the emulators' state, in this process). The poller adds no idle wait:
it long-polls (``WaitTimeSeconds=1``) and moto's receive wakes as soon as a message is sent
(devstack/moto_server.py), so nothing is subtracted; the queue dwell (the function's SendMessage
to the worker's invocation) is reported next to it to show it.

Work is counted after ``warmup`` messages each way, over every call of botocore's one door
(``BaseClient._make_api_call``) made by a function (``devstack.lambda_runtime.current_function``)
and every handler invocation (``devstack.lambda_runtime.invocation_listeners``), divided by the
messages. The poller's own SQS calls (what Lambda's event source mapping does) are counted
apart. A call is one API request as the code makes it (botocore retries inside it are not
counted again); a BatchGetItem or TransactWriteItems is one call whatever it holds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import math
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from devstack.control_client import wait_for  # noqa: E402
from devstack.discord_emulator import DiscordEmulator  # noqa: E402
from devstack.lambda_runtime import (  # noqa: E402
    current_function,
    invocation_end_listeners,
    invocation_listeners,
)
from devstack.stack import LocalStack  # noqa: E402
from devstack.twilio_emulator import TwilioEmulator  # noqa: E402
from flexcord.wiring import share_of_global_limit  # noqa: E402
from scripts.bench_report import Figure, summary  # noqa: E402

LOG = ROOT / ".bench" / "relay.log"
MEMBER = "bench_member"
AGENT, AGENT_NAME = "bench_agent", "Bench Agent"
#: What the worker is, and what counts as the event source mapping's own calls.
WORKER = "WorkerFunction"
POLLER_THREAD_PREFIX = "sqs-poller"
EVENT_SOURCE = "event source mapping"
LATENCY_BUDGET_MS = "<= 30"
PER_MESSAGE_BUDGET = "<= 1"
SETUP_TIMEOUT_SECONDS = 30.0
MESSAGE_TIMEOUT_SECONDS = 20.0
PROBE_SECONDS = 0.001
#: Added to the share's interval between two messages, for the answer's own time (the limiter
#: counts a request until a second after its answer).
SPACING_MARGIN_SECONDS = 0.02
UNLIMITED = 1_000_000

DYNAMODB_READS = frozenset({"GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
TO_TWILIO, TO_MEMBER = "member->Twilio", "agent->member"


# -- counting -------------------------------------------------------------------------------------


@dataclass
class Trace:
    """One message's way through the stack, as ``time.perf_counter`` readings."""

    began: float
    entry: float | None = None  # the first function invoked (the gateway's)
    sent: float | None = None  # its job's SendMessage
    taken: float | None = None  # the worker's invocation
    arrived: float | None = None  # the probe that saw the message


@dataclass
class Work:
    """What the functions did while a count ran: AWS calls by (who, service, operation, detail),
    handler invocations by function, and each message's trace."""

    calls: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    #: Seconds each function's invocations ran, summed.
    durations: dict[str, float] = field(default_factory=dict)
    traces: list[Trace] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_message(self) -> Trace:
        with self._lock:
            self.traces.append(Trace(time.perf_counter()))
            return self.traces[-1]

    def call(self, service: str, operation: str, params: dict[str, Any]) -> None:
        now = time.perf_counter()
        function = current_function.get()
        if function is None:
            if not threading.current_thread().name.startswith(POLLER_THREAD_PREFIX):
                return  # the benchmark's own calls (setting up, checking the queue)
            function = EVENT_SOURCE
        with self._lock:
            self.calls[(function, service, operation, describe(service, operation, params))] += 1
            if service == "sqs" and operation == "SendMessage" and function != EVENT_SOURCE and self.traces:
                trace = self.traces[-1]
                trace.sent = trace.sent or now

    def invoked(self, function: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self.invocations[function] += 1
            if not self.traces:
                return
            trace = self.traces[-1]
            if function == WORKER:
                if trace.sent is not None:
                    trace.taken = trace.taken or now
            else:
                trace.entry = trace.entry or now

    def ended(self, function: str, seconds: float) -> None:
        with self._lock:
            # Lambda bills each invocation's duration rounded up to the millisecond.
            billed = math.ceil(seconds * 1000) / 1000
            self.durations[function] = self.durations.get(function, 0.0) + billed

    def gigabyte_seconds(self) -> float:
        """What Lambda bills for the counted invocations: duration x configured memory."""
        return sum(seconds * memory_mb(function) / 1024 for function, seconds in self.durations.items())

    def functions_calls(self, service: str, operations: frozenset[str] | None = None) -> int:
        return sum(
            count
            for (who, called_service, operation, _), count in self.calls.items()
            if who != EVENT_SOURCE
            and called_service == service
            and (operations is None or operation in operations)
        )

    def event_source_calls(self) -> int:
        return sum(count for (who, *_), count in self.calls.items() if who == EVENT_SOURCE)

    def dwell_ms(self) -> list[float]:
        return [(t.taken - t.sent) * 1000 for t in self.traces if t.sent is not None and t.taken is not None]

    def timeline(self) -> str:
        """Median milliseconds from the action to each step."""
        steps = {"entry function": "entry", "SendMessage": "sent", "worker": "taken", "arrived": "arrived"}
        shown = []
        for label, name in steps.items():
            values = [
                (getattr(t, name) - t.began) * 1000 for t in self.traces if getattr(t, name) is not None
            ]
            if values:
                shown.append(f"{label} +{statistics.median(values):.1f}")
        return ", ".join(shown)


_COUNTING: list[Work] = []
_HOOK_LOCK = threading.Lock()
_HOOK: dict[str, bool] = {"installed": False}


def _install_call_hook() -> None:
    """Wrap botocore's one door for API calls once (every client of every session, Powertools'
    own included); it hands each call to the counts running, if any."""
    with _HOOK_LOCK:
        if _HOOK["installed"]:
            return
        from botocore.client import BaseClient

        make_api_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, not in the stubs

        def counting(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            for work in tuple(_COUNTING):
                work.call(client.meta.service_model.signing_name, operation_name, api_params)
            return make_api_call(client, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", counting)  # noqa: B010
        _HOOK["installed"] = True


@contextlib.contextmanager
def counting() -> Iterator[Work]:
    _install_call_hook()
    work = Work()
    _COUNTING.append(work)
    invocation_listeners.append(work.invoked)
    invocation_end_listeners.append(work.ended)
    try:
        yield work
    finally:
        invocation_end_listeners.remove(work.ended)
        invocation_listeners.remove(work.invoked)
        _COUNTING.remove(work)


@functools.cache
def memory_mb(function: str) -> int:
    """The function's MemorySize in template.yaml."""
    from devstack.template import function_spec, load_template

    return function_spec(load_template(), function).memory_mb


def describe(service: str, operation: str, params: dict[str, Any]) -> str:
    """Which items a DynamoDB call touches, as key prefixes (``USER/SESSION``), so the breakdown
    says what each read and write is for."""
    if service != "dynamodb":
        return ""
    if "Key" in params or "Item" in params:
        return _key_shape(params.get("Key") or params["Item"])
    describe_many = _DESCRIBE_MANY.get(operation)
    return describe_many(params) if describe_many else ""


def _describe_query(params: dict[str, Any]) -> str:
    values = params.get("ExpressionAttributeValues", {})
    shown = ",".join(_prefix(_scalar(value)) for value in values.values())
    return f"{params.get('IndexName', 'table')} {shown}".strip()


def _describe_batch_get(params: dict[str, Any]) -> str:
    keys = [key for request in params.get("RequestItems", {}).values() for key in request.get("Keys", [])]
    return "+".join(sorted(_key_shape(key) for key in keys))


def _describe_transaction(params: dict[str, Any]) -> str:
    return "; ".join(
        f"{kind} {_key_shape(request.get('Key') or request.get('Item') or {})}"
        for item in params.get("TransactItems", [])
        for kind, request in item.items()
    )


def _describe_batch_write(params: dict[str, Any]) -> str:
    writes = [write for batch in params.get("RequestItems", {}).values() for write in batch]
    return f"{len(writes)} writes"


_DESCRIBE_MANY: dict[str, Callable[[dict[str, Any]], str]] = {
    "Query": _describe_query,
    "Scan": lambda params: "scan",
    "BatchGetItem": _describe_batch_get,
    "TransactWriteItems": _describe_transaction,
    "TransactGetItems": _describe_transaction,
    "BatchWriteItem": _describe_batch_write,
}


def _key_shape(item: dict[str, Any]) -> str:
    return "/".join(_prefix(_scalar(item[name])) for name in ("pk", "sk") if name in item)


def _scalar(value: Any) -> str:
    if isinstance(value, dict) and value:
        return str(next(iter(value.values())))
    return str(value)


def _prefix(text: str) -> str:
    """The constant part of a key: up to its first ``#``, or the text without its digits."""
    head = text.split("#", 1)[0]
    return head if "#" in text else "".join("n" if c.isdigit() else c for c in head)[:40]


# -- the chat -------------------------------------------------------------------------------------


@dataclass
class Chat:
    discord: DiscordEmulator
    twilio: TwilioEmulator
    dm_channel_id: str
    conversation_sid: str
    task_sid: str


def lift_discord_rate_limits(discord: DiscordEmulator) -> None:
    """Discord lets a bot create 5 messages per 5 s in a channel, and every relayed message (the
    agent's, and the echo of the member's) is one in the member's DM: sent back to back they would
    be held to one a second, and the figures would measure Discord's limit, not the relay. The
    emulator's limiter is built with its defaults by LocalStack, so its table is raised here."""
    discord.rate_limiter.set_limits(UNLIMITED)


def open_chat(stack: LocalStack) -> Chat:
    """A member's support chat, handed to an agent who accepted it (tests/e2e/test_support_chat)."""
    discord, twilio = stack.discord, stack.twilio
    assert discord is not None
    assert twilio is not None
    discord.add_user(MEMBER)
    dm = discord.dm_channel_id(MEMBER)
    started = discord.run_command(MEMBER, "helpme")
    if started.failed:
        raise RuntimeError(f"/helpme failed: {started.error}")
    welcome = wait_for(
        lambda: next((m for m in discord.messages(dm) if m.get("components")), None),
        SETUP_TIMEOUT_SECONDS,
        what="the welcome message",
    )
    discord.click(MEMBER, welcome, "chat:human")
    task = wait_for(lambda: next(iter(twilio.tasks()), None), SETUP_TIMEOUT_SECONDS, what="the agent's task")
    conversation_sid = str(task.get("conversation_sid") or task["attributes"]["conversation_sid"])
    twilio.accept(str(task["sid"]), agent=AGENT, friendly_name=AGENT_NAME)
    wait_for(
        lambda: any(f"**{AGENT_NAME}** joined" in str(m.get("content")) for m in discord.messages(dm)),
        SETUP_TIMEOUT_SECONDS,
        what="the agent joining",
    )
    return Chat(discord, twilio, dm, conversation_sid, str(task["sid"]))


def _in_twilio(chat: Chat, text: str) -> Callable[[], bool]:
    """Whether the conversation's newest message is ``text``: read from the emulator's state
    under its lock, without rendering the whole conversation on every probe."""
    state = chat.twilio._state

    def arrived() -> bool:
        with state.lock:
            messages = state.conversations[chat.conversation_sid].messages
            return bool(messages) and any(m.body == text for m in messages[-3:])

    return arrived


def _in_dm(chat: Chat, text: str) -> Callable[[], bool]:
    world = chat.discord.world

    def arrived() -> bool:
        with world.lock:
            ids = world.channel_message_ids.get(chat.dm_channel_id, [])
            return any(world.messages[m].content.endswith(text) for m in ids[-3:])

    return arrived


def _timed(action: Callable[[], None], arrived: Callable[[], bool], trace: Trace | None) -> float:
    """Milliseconds from just before ``action`` to the first probe that sees its message."""
    began = time.perf_counter()
    if trace is not None:
        trace.began = began
    action()
    deadline = began + MESSAGE_TIMEOUT_SECONDS
    while not arrived():
        if time.perf_counter() > deadline:
            raise TimeoutError("a relayed message never arrived")
        time.sleep(PROBE_SECONDS)
    now = time.perf_counter()
    if trace is not None:
        trace.arrived = now
    return (now - began) * 1000


def _settled(stack: LocalStack, sqs: Any) -> None:
    """Wait until the message's work is over: no webhook on its way, no job queued or running
    (the poller deletes a job once the worker returns)."""
    assert stack.twilio is not None
    assert stack.resources is not None
    stack.twilio.wait_for_webhooks()
    names: Any = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]

    queue_url = stack.resources.job_queue_url

    def empty() -> bool:
        counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        return all(value == "0" for value in counts["Attributes"].values())

    wait_for(empty, MESSAGE_TIMEOUT_SECONDS, 0.005, what="the job queue to empty")


def _member_says(chat: Chat, text: str) -> None:
    result = chat.discord.run_command(MEMBER, "reply", {"message": text}, channel="dm")
    if result.failed or not isinstance(result.response, dict) or result.response.get("type") != 5:
        raise RuntimeError(f"/reply was not deferred: {result.response!r} {result.error}")


def relay(
    stack: LocalStack,
    chat: Chat,
    direction: str,
    count: int,
    *,
    label: str,
    spacing: float,
    work: Work | None = None,
) -> list[float]:
    """Relay ``count`` messages one way, each after the previous one settled and at least
    ``spacing`` seconds after the previous one began; their latencies."""
    import boto3

    sqs = boto3.client("sqs")
    latencies = []
    previous_began = -math.inf
    for index in range(count):
        time.sleep(max(0.0, previous_began + spacing - time.perf_counter()))
        previous_began = time.perf_counter()
        text = f"bench {label} {direction} #{index:04d}"
        trace = work.next_message() if work is not None else None
        if direction == TO_TWILIO:
            action = functools.partial(_member_says, chat, text)
            arrived = _in_twilio(chat, text)
        else:
            action = functools.partial(_agent_says, chat, text)
            arrived = _in_dm(chat, text)
        latencies.append(_timed(action, arrived, trace))
        _settled(stack, sqs)
    return latencies


def _agent_says(chat: Chat, text: str) -> None:
    chat.twilio.agent_say(chat.task_sid, text)


# -- figures --------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def figures_for(direction: str, latencies: list[float], work: Work, messages: int) -> list[Figure]:
    per = float(messages)
    sample = f"{messages} messages one at a time, after warm-up"
    dwell = work.dwell_ms()
    reads = work.functions_calls("dynamodb", DYNAMODB_READS)
    writes = work.functions_calls("dynamodb", DYNAMODB_WRITES)
    invocations = sum(work.invocations.values())
    return [
        Figure(
            f"relay {direction} latency p50",
            statistics.median(latencies),
            "ms",
            LATENCY_BUDGET_MS,
            f"{sample}; the poller long-polls and wakes on a send: no interval to exclude; "
            "Discord's 5-per-5-s message limit lifted in the emulator",
        ),
        Figure(f"relay {direction} latency p99", percentile(latencies, 0.99), "ms", None, sample),
        Figure(
            f"relay {direction} queue dwell p50",
            statistics.median(dwell) if dwell else float("nan"),
            "ms",
            None,
            "function's SendMessage to the worker's invocation (part of the latency)",
        ),
        Figure(
            f"relay {direction} DynamoDB reads/message",
            reads / per,
            "calls",
            PER_MESSAGE_BUDGET,
            "GetItem, Query, BatchGetItem, Scan, TransactGetItems by the functions",
        ),
        Figure(
            f"relay {direction} DynamoDB writes/message",
            writes / per,
            "calls",
            PER_MESSAGE_BUDGET,
            "PutItem, UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem by the functions",
        ),
        Figure(
            f"relay {direction} SQS calls/message",
            work.functions_calls("sqs") / per,
            "calls",
            None,
            "by the functions (the poller's own are counted apart)",
        ),
        Figure(
            f"relay {direction} event source SQS calls/message",
            work.event_source_calls() / per,
            "calls",
            None,
            "the poller's ReceiveMessage/DeleteMessage (Lambda's event source mapping), idle polls too",
        ),
        Figure(
            f"relay {direction} Lambda invocations/message",
            invocations / per,
            "calls",
            None,
            ", ".join(f"{name} {count / per:g}" for name, count in sorted(work.invocations.items()))
            or "none",
        ),
        Figure(
            f"relay {direction} Lambda GB-seconds/message",
            work.gigabyte_seconds() / per,
            "GB-s",
            None,
            "each invocation's duration here (rounded up to 1 ms, as billed) x its MemorySize: "
            + ", ".join(
                f"{name} {seconds / per * 1000:.1f} ms at {memory_mb(name)} MB"
                for name, seconds in sorted(work.durations.items())
            ),
        ),
    ]


def breakdown(work: Work, messages: int) -> list[str]:
    """One line per kind of call, per message, most frequent first."""
    lines = [f"  timeline, median ms after the action: {work.timeline()}"]
    lines += [
        f"  {count / messages:6.2f}  {who}: {service} {operation} {detail}".rstrip()
        for (who, service, operation, detail), count in work.calls.most_common()
    ]
    lines += [
        f"  {count / messages:6.2f}  invocation {function}"
        for function, count in work.invocations.most_common()
    ]
    return lines


# -- the run --------------------------------------------------------------------------------------


@contextlib.contextmanager
def logs_to(stream: IO[str]) -> Iterator[None]:
    """The functions log JSON (and EMF metrics) to stdout: keep them out of the figures."""
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for name in ("flexcord", "devstack"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                moved.append((handler, handler.setStream(stream)))
    try:
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    finally:
        for handler, previous in moved:
            handler.setStream(previous)


@dataclass
class Run:
    figures: list[Figure]
    breakdowns: dict[str, list[str]]
    seconds: float


def run(messages: int = 200, warmup: int = 10, log_path: Path = LOG) -> Run:
    if messages < 1:
        raise ValueError("messages must be at least 1")
    began = time.perf_counter()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    breakdowns: dict[str, list[str]] = {}
    # The per-member limit stays on (its UpdateItem is part of each /reply's cost), set high
    # enough never to refuse; the poller keeps its defaults (see the module's docstring).
    stack_under_test = LocalStack(parameters={"MemberRateLimitPerMinute": UNLIMITED})
    with log_path.open("w", encoding="utf-8") as log_file, logs_to(log_file), stack_under_test as stack:
        assert stack.discord is not None
        lift_discord_rate_limits(stack.discord)
        chat = open_chat(stack)
        spacing = message_spacing(stack)
        for direction in (TO_TWILIO, TO_MEMBER):
            relay(stack, chat, direction, warmup, label="warmup", spacing=spacing)
        for direction in (TO_TWILIO, TO_MEMBER):
            with counting() as work:
                latencies = relay(
                    stack, chat, direction, messages, label="measured", spacing=spacing, work=work
                )
            figures += figures_for(direction, latencies, work, messages)
            breakdowns[direction] = breakdown(work, messages)
    return Run(figures, breakdowns, time.perf_counter() - began)


def message_spacing(stack: LocalStack) -> float:
    """Seconds between the starts of two measured messages: a little over the time one worker
    instance's share of Discord's global limit gives a request (``GLOBAL_REQUESTS_PER_SECOND /
    WorkerMaxConcurrency`` a second, flexcord.wiring). Sent back to back, faster than any chat's
    pace, the agent's messages would measure that share's pacing instead of the relay."""
    share = share_of_global_limit(int(stack.parameter("WorkerMaxConcurrency")))
    return 1.0 / share + SPACING_MARGIN_SECONDS


def measure(messages: int = 200) -> list[Figure]:
    """The relay figures (make bench): latency and work per message, each way."""
    return run(messages).figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200, help="messages each way (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="uncounted messages each way first")
    parser.add_argument("--breakdown", action="store_true", help="also print the calls per message")
    arguments = parser.parse_args()
    result = run(arguments.messages, arguments.warmup)
    print(summary(result.figures))
    if arguments.breakdown:
        for direction, lines in result.breakdowns.items():
            print(f"\n{direction}, per message:")
            print("\n".join(lines))
    print(f"\n{arguments.messages} messages each way in {result.seconds:.1f} s; function logs: {LOG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
