"""Chaos, seeded and repeatable, through the local stack.

``python scripts/chaos.py --seed 1 --members 50 --messages-per-member 10`` starts the local stack
in this process (moto, both emulators, the gateway running the real handlers, the poller feeding
the real worker), has every member open a support chat with /helpme and ask for a human with
/agent, has a scripted Flex agent accept each chat, and then relays tagged messages both ways
(``chaos m07 to-agent #003`` with /reply, ``chaos m07 to-member #003`` from the agent) while
injecting faults:

- Discord: 429 (``retry_after`` in the body, ``Retry-After`` in the headers, some ``global``),
  5xx, and timeouts (the request served, then its answer held past the client's read timeout;
  or held and then refused, never served);
- Twilio REST: 5xx and the same two kinds of timeout;
- every Twilio webhook delivered one to three times (same request, same idempotency token);
- worker crashes mid-batch (the invocation dies after some records: their work stays done, the
  answer is lost, the whole batch comes back);
- SQS redelivery (a visibility that runs out while the first delivery still runs, and lost
  deletes);
- DynamoDB throttling in the worker's own boto3 client (bursts botocore's retries absorb, and
  bursts that exhaust them);
- one poisoned job: one member's last message, which Twilio refuses every time.

Every fault is decided by ``random.Random`` seeded from ``--seed`` and what the request is (the
tagged message, the member, the route, and how many times it was tried), so a seed gives the same
fault plan; thread timing, and so the exact figures, can still vary a little between runs.

It prints: sent, delivered, lost, duplicated, out of order (per member, summed), retries,
dead-lettered, members told, the faults injected by type, and the wall time.

Time is compressed (``--time-scale``): the worker's own retry delays and the queue's visibility
timeout are multiplied by it. The worker keeps the template's 60 s Lambda timeout by default:
what a job takes (client timeouts, rate-limit waits) is not compressed, so a batch gets the time
to start its jobs that it has in AWS. The price: an idempotency record left in progress (a
throttled write after the job ran) holds for up to 60 s, which the compressed retries reach
sooner, so it can cost a job one more delivery than in AWS. ``--scaled-lambda-timeout`` shrinks
the timeout with the time scale instead (keeping the 15 s the worker needs to start a job): locks
then expire relative to the retries as in AWS, but jobs are refused for lack of time more often.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from devstack.discord_emulator import DiscordEmulator  # noqa: E402
from devstack.discord_emulator.server import DiscordFault  # noqa: E402
from devstack.http_server import HttpRequest  # noqa: E402
from devstack.poller import Message  # noqa: E402
from devstack.stack import LocalStack  # noqa: E402
from devstack.twilio_emulator import TwilioEmulator  # noqa: E402
from devstack.twilio_emulator.server import TwilioFault  # noqa: E402

log = logging.getLogger("chaos")

TAG = re.compile(r"chaos m(\d+) (to-agent|to-member) #(\d+)")
TO_AGENT, TO_MEMBER = "to-agent", "to-member"
POISON_MARK = " poison"
NOTICE_PREFIX = "⚠️"
#: The worker's Lambda timeout and the queue's visibility timeout in template.yaml, and the time
#: the worker needs left to start a job (flexcord.jobs.worker.MIN_SECONDS_TO_START_A_JOB).
WORKER_TIMEOUT_SECONDS = 60
QUEUE_VISIBILITY_SECONDS = 360
MIN_SECONDS_TO_START_A_JOB = 15
#: The clients' read timeouts in production (flexcord.wiring): Discord (3.05, 6.0), Twilio 10 s.
DISCORD_READ_TIMEOUT = 6.0
TWILIO_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class ChaosConfig:
    seed: int = 1
    members: int = 50
    messages_per_member: int = 10
    #: JobMaxReceiveCount (the template's default is 5).
    max_receive_count: int = 5
    #: Multiplies the worker's retry delays and the queue's visibility timeout (see the module doc).
    time_scale: float = 1 / 3
    worker_concurrency: int = 6
    batch_size: int = 10
    #: Seconds between one member's actions (uniform), and over which members start.
    pace: tuple[float, float] = (1.0, 3.0)
    stagger_seconds: float = 10.0
    # Rates, per request (Discord, Twilio REST, DynamoDB call) or per delivery (SQS).
    discord_429: float = 0.03
    discord_429_global_share: float = 0.25
    discord_5xx: float = 0.03
    discord_timeout: float = 0.01
    twilio_5xx: float = 0.03
    twilio_timeout: float = 0.01
    webhook_max_copies: int = 3
    worker_crashes: int = 2
    crash_rate: float = 0.1  # of batches of two or more messages, until ``worker_crashes`` happened
    #: When a crashed batch comes back (AWS: the visibility timeout); None: the scaled timeout.
    crash_return_seconds: int | None = None
    sqs_expired_visibility: float = 0.02
    sqs_lost_delete: float = 0.02
    dynamodb_throttle: float = 0.02
    dynamodb_exhausted_share: float = 0.1
    poison: bool = True
    #: How long a timeout holds the answer: just past the production clients' read timeouts.
    discord_timeout_seconds: float = DISCORD_READ_TIMEOUT + 0.5
    twilio_timeout_seconds: float = TWILIO_READ_TIMEOUT + 0.5
    setup_timeout: float = 180.0
    drain_timeout: float = 420.0
    #: The worker's Lambda timeout (the template's); None: scaled (see the module doc).
    lambda_timeout: int | None = WORKER_TIMEOUT_SECONDS

    @property
    def lambda_timeout_seconds(self) -> int:
        """The worker's timeout, scaled, keeping the 15 s it needs to start a job: an idempotency
        record left in progress then expires relative to the retries as in AWS."""
        if self.lambda_timeout is not None:
            return self.lambda_timeout
        window = (WORKER_TIMEOUT_SECONDS - MIN_SECONDS_TO_START_A_JOB) * self.time_scale
        return math.ceil(MIN_SECONDS_TO_START_A_JOB + window)

    def scaled(self, seconds: float) -> int:
        return 0 if seconds <= 0 else max(1, round(seconds * self.time_scale))


# -- seeded decisions ---------------------------------------------------------------------------


class Dice:
    """A ``random.Random`` per decision, seeded by the run's seed, what is decided about, and how
    many times it was decided before (a retry of the same request gets the next roll)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def roll(self, *key: str) -> random.Random:
        name = "|".join(key)
        with self._lock:
            occurrence = self._seen[name]
            self._seen[name] += 1
        return random.Random(f"{self._seed}|{name}|{occurrence}")  # noqa: S311 - chaos, not crypto


# SIDs, interaction tokens, snowflakes, and MD5 digests (Powertools' idempotency keys).
_VOLATILE = re.compile(r"[A-Z]{2}[0-9a-f]{32}|[A-Za-z0-9_-]{60,}|\d{15,21}|\b[0-9a-f]{32}\b")


class Aliases:
    """Stable names for the ids that change from run to run (snowflakes, SIDs, tokens), so a
    request's fault depends on what it is, not on its ids."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        #: Names an id not added yet (e.g. a conversation SID, from the conversation's unique name).
        self.resolver: Callable[[str], str | None] = lambda _: None

    def add(self, volatile: str, name: str) -> None:
        with self._lock:
            self._names[volatile] = name

    def add_job_key(self, key: str, name: str) -> None:
        """A job key, and the digest Powertools' idempotency records it under."""
        import hashlib

        self.add(key, name)
        self.add(hashlib.md5(json.dumps(key).encode()).hexdigest(), f"{name} (job)")  # noqa: S324

    def stable(self, text: str) -> str:
        return _VOLATILE.sub(lambda match: self._name(match.group(0)), text)

    def _name(self, volatile: str) -> str:
        name = self._names.get(volatile)
        if name is None:
            name = self.resolver(volatile)
            if name is None:
                return "*"
            self.add(volatile, name)
        return name


class FaultCounts:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._counts[name] += count

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


def _form(request: HttpRequest) -> dict[str, str]:
    from urllib.parse import parse_qsl

    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _discord_content(request: HttpRequest) -> str:
    text = request.body.decode("utf-8", "replace")
    found = TAG.search(text)
    if found:
        return found.group(0)
    if request.headers.get("content-type", "").startswith("application/json") and request.body:
        try:
            payload = json.loads(text)
        except ValueError:
            return ""
        if isinstance(payload, dict):
            return str(payload.get("content") or payload.get("recipient_id") or "")[:80]
    return ""


# -- the faults ---------------------------------------------------------------------------------


class ChaosPlan:
    """Decides every fault of a run (all of it seeded by ``config.seed``)."""

    def __init__(self, config: ChaosConfig) -> None:
        self.config = config
        self.dice = Dice(config.seed)
        self.aliases = Aliases()
        self.counts = FaultCounts()
        self._emulators: tuple[DiscordEmulator, TwilioEmulator] | None = None
        self.poison_tag: str | None = None
        #: Receipt handles of deliveries whose visibility ran out: SQS refuses to change it.
        self.stale_receipts: set[str] = set()

    def bind(self, discord: DiscordEmulator, twilio: TwilioEmulator) -> None:
        """Start deciding the emulators' faults."""
        self._emulators = (discord, twilio)
        self.aliases.resolver = self._conversation_name
        discord.set_fault_policy(self.discord_fault)
        twilio.set_fault_policy(self.twilio_fault)
        twilio.webhook_copy_policy = self.webhook_copies

    def _conversation_name(self, volatile: str) -> str | None:
        """A conversation is named after the interaction that opened it (``discord-<id>``)."""
        if not volatile.startswith("CH"):
            return None
        try:
            unique_name = str(self._twilio.conversation(volatile).get("unique_name") or "")
        except Exception:  # not (yet) a conversation
            return None
        if not unique_name.startswith("discord-"):
            return None
        opener = self.aliases.stable(unique_name.removeprefix("discord-"))
        return None if opener == "*" else f"conversation of {opener}"

    @property
    def _discord(self) -> DiscordEmulator:
        assert self._emulators is not None
        return self._emulators[0]

    @property
    def _twilio(self) -> TwilioEmulator:
        assert self._emulators is not None
        return self._emulators[1]

    # Discord's REST API
    def discord_fault(self, request: HttpRequest) -> DiscordFault | None:
        if not request.path.startswith("/api/"):
            return None  # the CDN
        config = self.config
        what = self.aliases.stable(_discord_content(request))
        key = f"{request.method} {self.aliases.stable(request.path)} {what}"
        dice = self.dice.roll("discord", key)
        roll = dice.random()
        if roll < config.discord_429:
            is_global = dice.random() < config.discord_429_global_share
            retry_after = round(dice.uniform(0.2, 2.5), 3)
            self.counts.add("discord 429 global" if is_global else "discord 429")
            return self._discord.make_fault(429, {"retry_after": retry_after, "global": is_global})
        roll -= config.discord_429
        if roll < config.discord_5xx:
            status = dice.choice([500, 502, 503, 504])
            self.counts.add(f"discord {status}")
            return self._discord.make_fault(status)
        roll -= config.discord_5xx
        if roll < config.discord_timeout:
            if dice.random() < 0.5:
                self.counts.add("discord timeout (served, answer lost)")
                return self._discord.make_fault(0, delay=config.discord_timeout_seconds, hold=True)
            self.counts.add("discord timeout (not served)")
            return self._discord.make_fault(504, delay=config.discord_timeout_seconds)
        return None

    # Twilio's REST API
    def twilio_fault(self, request: HttpRequest) -> TwilioFault | None:
        config = self.config
        form = _form(request)
        body = form.get("Body", "")
        if self.poison_tag and self.poison_tag in body:
            self.counts.add("poisoned job refusals")
            return self._twilio.make_fault(500)
        described = (
            body
            or form.get("UniqueName")
            or form.get("Identity")
            or form.get("State")
            or form.get("Status")
            or ""
        )
        key = f"{request.method} {self.aliases.stable(request.path)} {self.aliases.stable(described)[:80]}"
        dice = self.dice.roll("twilio", key)
        roll = dice.random()
        if roll < config.twilio_5xx:
            status = dice.choice([500, 502, 503])
            self.counts.add(f"twilio {status}")
            return self._twilio.make_fault(status)
        roll -= config.twilio_5xx
        if roll < config.twilio_timeout:
            if dice.random() < 0.5:
                self.counts.add("twilio timeout (served, answer lost)")
                return self._twilio.make_fault(0, delay=config.twilio_timeout_seconds, hold=True)
            self.counts.add("twilio timeout (not served)")
            return self._twilio.make_fault(504, delay=config.twilio_timeout_seconds)
        return None

    # Twilio's webhooks
    def webhook_copies(self, event_type: str, params: Any) -> int:
        what = str(params.get("Body") or params.get("Identity") or params.get("StateTo") or "")
        conversation = self.aliases.stable(str(params.get("ConversationSid", "")))
        dice = self.dice.roll("webhook", event_type, conversation, self.aliases.stable(what))
        copies = dice.randint(1, max(1, self.config.webhook_max_copies))
        if copies > 1:
            self.counts.add("twilio webhook extra deliveries", copies - 1)
        return copies


class DynamoThrottler:
    """Throttles the worker's DynamoDB calls through botocore's events on its client: a throttled
    call gets ProvisionedThroughputExceededException or ThrottlingException answers. A short burst
    is sent through botocore's own retries (which absorb it); a burst that would outlast them is
    answered at once with the ClientError botocore raises after its last retry (rather than
    sleeping through its ~25 s of backoff)."""

    CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")

    def __init__(self, plan: ChaosPlan) -> None:
        self._plan = plan
        self._local = threading.local()

    def install(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._describe)
        client.meta.events.register("before-call.dynamodb", self._before_call)
        client.meta.events.register("before-send.dynamodb", self._before_send)

    def _describe(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        key = params.get("Key") or params.get("Item") or params.get("TransactItems") or {}
        context["chaos_key"] = self._plan.aliases.stable(json.dumps(key, sort_keys=True, default=str))[:200]

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        self._local.pending = 0
        config = self._plan.config
        dice = self._plan.dice.roll("dynamodb", model.name, str(context.get("chaos_key", "")))
        if dice.random() >= config.dynamodb_throttle:
            return None
        code = dice.choice(self.CODES)
        if dice.random() < config.dynamodb_exhausted_share:
            self._plan.counts.add("dynamodb throttle (retries exhausted)")
            from botocore.awsrequest import AWSResponse, HTTPHeaders

            parsed = {
                "Error": {"Code": code, "Message": "Throughput exceeds the current capacity (chaos)."},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 9, "MaxAttemptsReached": True},
            }
            return AWSResponse("", 400, HTTPHeaders(), _RawBody(b"")), parsed
        self._plan.counts.add("dynamodb throttle (absorbed by retries)")
        self._local.pending = dice.randint(1, 3)
        self._local.code = code
        return None

    def _before_send(self, request: Any, **_: Any) -> Any:
        if getattr(self._local, "pending", 0) <= 0:
            return None
        self._local.pending -= 1
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        body = json.dumps(
            {
                "__type": f"com.amazonaws.dynamodb.v20120810#{self._local.code}",
                "message": "Throughput exceeds the current capacity of your table or index (chaos).",
            }
        ).encode()
        headers = HTTPHeaders()
        headers["x-amzn-RequestId"] = "chaos"
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 400, headers, _RawBody(body))


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class RetrySchedule:
    """When a failed message comes back: the delay the worker asked for (it sets the message's
    visibility itself), scaled; a message on its last delivery straight away (it goes to the
    dead-letter queue on the next receive); anything else after the scaled visibility timeout,
    as in AWS."""

    def __init__(self, config: ChaosConfig, stale_receipts: set[str]) -> None:
        self._config = config
        self._stale = stale_receipts
        self._requested: dict[str, int] = {}
        self._lock = threading.Lock()
        #: Retries the worker asked for at once (0 s): a job it did not start for lack of time.
        self.immediate_retries = 0

    def install(self, product_sqs_client: Any) -> None:
        events = product_sqs_client.meta.events
        events.register("before-parameter-build.sqs.ChangeMessageVisibility", self._record)
        events.register("before-call.sqs.ChangeMessageVisibility", self._refuse_if_not_in_flight)

    def _record(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        receipt = str(params.get("ReceiptHandle"))
        context["chaos_receipt"] = receipt
        with self._lock:
            self._requested[receipt] = int(params.get("VisibilityTimeout", 0))
            self.immediate_retries += self._requested[receipt] == 0

    def _refuse_if_not_in_flight(self, context: dict[str, Any], **_: Any) -> Any:
        """SQS's answer to a visibility change for a delivery whose visibility already ran out
        (moto would apply it, and lose track of the message's FIFO group)."""
        if context.get("chaos_receipt") not in self._stale:
            return None
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        parsed = {
            "Error": {
                "Code": "AWS.SimpleQueueService.MessageNotInflight",
                "Message": "The message referred to isn't in flight.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("", 400, HTTPHeaders(), _RawBody(b"")), parsed

    def delay_for(self, message: Message) -> int:
        with self._lock:
            requested = self._requested.pop(str(message.get("ReceiptHandle")), None)
        if requested is not None:
            return self._config.scaled(requested)
        if _receive_count(message) >= self._config.max_receive_count:
            return 1
        return self._config.scaled(QUEUE_VISIBILITY_SECONDS)


class ChaosPollerFaults:
    """The poller's faults: crashes mid-batch, visibility running out mid-delivery, lost deletes."""

    def __init__(self, plan: ChaosPlan) -> None:
        self._plan = plan
        self._crashes_left = plan.config.worker_crashes
        self._lock = threading.Lock()

    def _key(self, message: Message) -> str:
        try:
            document = json.loads(str(message.get("Body", "")))
            text = str(document.get("key", ""))
        except ValueError:
            text = ""
        return self._plan.aliases.stable(text)

    def crash_after(self, messages: list[Message]) -> int | None:
        if len(messages) < 2:
            return None
        with self._lock:
            if self._crashes_left <= 0:
                return None
        dice = self._plan.dice.roll("crash", ",".join(sorted(self._key(m) for m in messages)))
        if dice.random() >= self._plan.config.crash_rate:
            return None
        with self._lock:
            if self._crashes_left <= 0:
                return None
            self._crashes_left -= 1
        self._plan.counts.add("worker crash mid-batch")
        return dice.randint(1, len(messages) - 1)

    def expire_visibility(self, message: Message) -> bool:
        config = self._plan.config
        if config.worker_concurrency < 2 or _receive_count(message) > 1:
            return False
        if self._plan.dice.roll("expire", self._key(message)).random() >= config.sqs_expired_visibility:
            return False
        self._plan.counts.add("sqs visibility expired mid-delivery")
        self._plan.stale_receipts.add(str(message.get("ReceiptHandle")))
        return True

    def lose_delete(self, message: Message) -> bool:
        dice = self._plan.dice.roll("lose-delete", self._key(message))
        if dice.random() >= self._plan.config.sqs_lost_delete:
            return False
        self._plan.counts.add("sqs delete lost (redelivered)")
        return True


def _receive_count(message: Message) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))


MAX_RESENDS = 10
_TRY_AGAIN = re.compile(r"try again in (a second|(\d+) seconds)")


def _slow_down_seconds(response: Any) -> float | None:
    """How long Flexcord asked the member to wait, when its answer is its rate limit's."""
    if not isinstance(response, dict) or response.get("type") != 4:
        return None
    content = str((response.get("data") or {}).get("content") or "")
    found = _TRY_AGAIN.search(content)
    if found is None:
        return None
    return float(found.group(2) or 1)


# -- the members and their agents ---------------------------------------------------------------


@dataclass
class Member:
    index: int
    username: str
    display_name: str
    agent: str
    agent_name: str
    label: str
    user_id: str = ""
    dm_channel_id: str = ""
    task_sid: str = ""
    conversation_sid: str = ""
    tokens: list[str] = field(default_factory=list)
    sent_to_agent: list[int] = field(default_factory=list)
    sent_to_member: list[int] = field(default_factory=list)
    poisoned: int | None = None
    poison_token: str = ""
    interactions_failed: int = 0
    slowed_down: int = 0
    reply_tokens: dict[int, str] = field(default_factory=dict)
    problem: str = ""

    def tag(self, direction: str, number: int) -> str:
        return f"chaos m{self.index:02d} {direction} #{number:03d}"


class ChaosRun:
    def __init__(self, config: ChaosConfig, progress: Callable[[str], None] = lambda _: None) -> None:
        self.config = config
        self._progress = progress
        self.stop = threading.Event()
        self.plan = ChaosPlan(config)
        self.schedule = RetrySchedule(config, self.plan.stale_receipts)
        self.stack: LocalStack | None = None
        self.members: list[Member] = []
        self.last_drain_state: dict[str, Any] = {}

    # -- set-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        config, plan = self.config, self.plan
        self.stack = LocalStack(
            parameters={"JobMaxReceiveCount": config.max_receive_count},
            poller_options={
                "concurrency": config.worker_concurrency,
                "batch_size": config.batch_size,
                "timeout_seconds": config.lambda_timeout_seconds,
                "retry_delay": self.schedule.delay_for,
                "faults": ChaosPollerFaults(plan),
                "crash_visibility_seconds": config.crash_return_seconds
                if config.crash_return_seconds is not None
                else config.scaled(QUEUE_VISIBILITY_SECONDS),
            },
        )
        self.stack.start()
        assert self.stack.discord is not None
        assert self.stack.twilio is not None

        from flexcord.adapters.queue.job_queue import job_queue
        from flexcord.adapters.storage.dynamodb import dynamodb_client

        # The worker's own clients (cached per process, as in Lambda): throttle its DynamoDB
        # calls, and learn the retry delays it asks SQS for.
        DynamoThrottler(plan).install(dynamodb_client())
        self.schedule.install(job_queue()._client)
        plan.bind(self.stack.discord, self.stack.twilio)

        chooser = random.Random(f"{config.seed}|poison")  # noqa: S311
        poisoned_index = chooser.randint(1, config.members) if config.poison else None
        for index in range(1, config.members + 1):
            member = Member(
                index=index,
                username=f"chaos{index:02d}",
                display_name=f"Chaos{index:02d}",
                agent=f"agent{index:02d}",
                agent_name=f"Agent{index:02d}",
                label=f"m{index:02d}",
            )
            if index == poisoned_index:
                member.poisoned = config.messages_per_member
                plan.poison_tag = member.tag(TO_AGENT, config.messages_per_member) + POISON_MARK
            self.stack.discord.add_user(member.username)
            member.user_id = self.stack.discord.user_id(member.username)
            member.dm_channel_id = self.stack.discord.dm_channel_id(member.username)
            plan.aliases.add(member.user_id, member.label)
            plan.aliases.add(member.dm_channel_id, f"{member.label}-dm")
            self.members.append(member)

    def close(self) -> None:
        self.stop.set()
        if self.stack is not None:
            self.stack.stop()

    # -- the conversation -----------------------------------------------------------------------

    def run_members(self) -> None:
        threads = [
            threading.Thread(
                target=self._run_member, args=(member,), name=f"chaos-{member.label}", daemon=True
            )
            for member in self.members
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.config.setup_timeout + self._sending_seconds() + 60
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))

    def _sending_seconds(self) -> float:
        return self.config.stagger_seconds + 2 * self.config.messages_per_member * self.config.pace[1]

    def _run_member(self, member: Member) -> None:
        try:
            self._converse(member)
        except Exception as problem:  # a member's thread must not end the run
            log.exception("member %s", member.label)
            member.problem = member.problem or f"{type(problem).__name__}: {problem}"

    def _command(self, member: Member, name: str, options: dict[str, Any] | None, what: str) -> str:
        """Run ``/name`` as the member; when Flexcord asks them to slow down (its per-member
        limit), wait as long as it says and send the same thing again, as a member would."""
        assert self.stack is not None
        assert self.stack.discord is not None
        channel = "general" if name == "helpme" else "dm"
        for _ in range(MAX_RESENDS):
            result = self.stack.discord.run_command(member.username, name, options, channel=channel)
            self.plan.aliases.add(result.token, f"{member.label} {what}")
            self.plan.aliases.add_job_key(str(result.interaction["id"]), f"{member.label} {what}")
            member.tokens.append(result.token)
            if result.failed:
                member.interactions_failed += 1
                if result.status_code is not None and result.status_code >= 500:
                    # The endpoint itself broke: nothing was queued (a deadline miss may have been).
                    raise RuntimeError(f"/{name} answered HTTP {result.status_code}: {result.error}")
            wait = _slow_down_seconds(result.response)
            if wait is None:
                return result.token
            member.slowed_down += 1
            if self.stop.wait(wait + 0.5):
                break
        raise RuntimeError(f"/{name} refused {MAX_RESENDS} times (slow down)")

    def _converse(self, member: Member) -> None:
        assert self.stack is not None
        discord, twilio = self.stack.discord, self.stack.twilio
        assert discord is not None
        assert twilio is not None
        config = self.config
        dice = random.Random(f"{config.seed}|member|{member.index}")  # noqa: S311
        if self.stop.wait(dice.uniform(0, config.stagger_seconds)):
            return
        self._command(member, "helpme", None, "helpme")
        welcome = self._wait(
            lambda: any(m.get("components") for m in discord.messages(member.dm_channel_id)),
            config.setup_timeout,
        )
        if not welcome:
            member.problem = "the chat never opened (no welcome message)"
            return
        self._command(member, "agent", None, "agent")
        task = self._wait(lambda: self._pending_task(member), config.setup_timeout)
        if not task:
            member.problem = "no Flex task appeared"
            return
        member.task_sid = str(task["sid"])
        member.conversation_sid = str(task["conversation_sid"] or task["attributes"].get("conversation_sid"))
        self.plan.aliases.add(member.conversation_sid, f"{member.label}-conversation")
        twilio.accept(member.task_sid, agent=member.agent, friendly_name=member.agent_name)

        for number in range(1, config.messages_per_member + 1):
            sides = [TO_AGENT, TO_MEMBER]
            dice.shuffle(sides)
            for side in sides:
                if side == TO_AGENT:
                    text = member.tag(TO_AGENT, number)
                    if member.poisoned == number:
                        text += POISON_MARK
                    token = self._command(member, "reply", {"message": text}, f"reply #{number:03d}")
                    if member.poisoned == number:
                        member.poison_token = token
                    member.reply_tokens[number] = token
                    member.sent_to_agent.append(number)
                else:
                    said = twilio.agent_say(member.task_sid, member.tag(TO_MEMBER, number))
                    self.plan.aliases.add_job_key(f"message:{said['sid']}", f"{member.label} agent #{number}")
                    self.plan.aliases.add(str(said["sid"]), f"{member.label} agent #{number}")
                    member.sent_to_member.append(number)
                if self.stop.wait(dice.uniform(*config.pace)):
                    return

    def _pending_task(self, member: Member) -> dict[str, Any] | None:
        assert self.stack is not None
        assert self.stack.twilio is not None
        for task in self.stack.twilio.tasks():
            attributes = task.get("attributes") or {}
            if attributes.get("discord_display_name") == member.display_name and (
                task.get("assignment_status") == "pending"
            ):
                return task
        return None

    def _wait(self, predicate: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            value = predicate()
            if value:
                return value
            self.stop.wait(0.5)
        return None

    # -- the end --------------------------------------------------------------------------------

    def drain(self) -> bool:
        """Wait until the job queue is empty (nothing visible, in flight or delayed) and Twilio has
        no webhook left to deliver, three checks in a row."""
        stack = self.stack
        assert stack is not None
        assert stack.resources is not None
        assert stack.twilio is not None
        import boto3

        sqs = boto3.client("sqs")
        deadline = time.monotonic() + self.config.drain_timeout
        quiet = 0
        while time.monotonic() < deadline:
            attributes: dict[Any, str] = dict(
                sqs.get_queue_attributes(
                    QueueUrl=stack.resources.job_queue_url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ],
                )["Attributes"]
            )
            waiting = sum(int(value) for value in attributes.values())
            idle = stack.twilio.wait_for_webhooks(0.05)
            self.last_drain_state = {"queue": attributes, "webhooks_idle": idle}
            quiet = quiet + 1 if waiting == 0 and idle else 0
            if quiet >= 3:
                return True
            time.sleep(1.0)
        return False

    def figures(self, started: float, drained: bool) -> dict[str, Any]:
        stack = self.stack
        assert stack is not None
        assert stack.poller is not None
        assert stack.twilio is not None
        by_member = {member.index: member for member in self.members}
        observed = self._observe()
        sent = {(m.index, TO_AGENT, n) for m in self.members for n in m.sent_to_agent}
        sent |= {(m.index, TO_MEMBER, n) for m in self.members for n in m.sent_to_member}
        poisoned = {(m.index, TO_AGENT, m.poisoned) for m in self.members if m.poisoned in m.sent_to_agent}
        tally = _tally(observed.arrivals, by_member)
        lost = sorted(sent - tally.delivered - poisoned)
        echo_missing = sum(
            len(set(m.sent_to_agent) - set(observed.echoes.get(m.index, [])) - {m.poisoned})
            for m in self.members
        )
        dead_letters = self._dead_letters()
        poison_member = next((m for m in self.members if m.poisoned), None)
        poller = stack.poller.stats.as_dict()
        faults = self.plan.counts.as_dict()
        injected_429 = sum(count for name, count in faults.items() if name.startswith("discord 429"))
        tasks = stack.twilio.tasks(include_closed=True)
        return {
            "seed": self.config.seed,
            "members": len(self.members),
            "messages_per_member": self.config.messages_per_member,
            "sent": len(sent),
            "sent_member_to_agent": sum(len(m.sent_to_agent) for m in self.members),
            "sent_agent_to_member": sum(len(m.sent_to_member) for m in self.members),
            "delivered": len(tally.delivered),
            "lost": len(lost),
            "duplicated": len(tally.duplicated),
            "out_of_order": len(tally.out_of_order),
            "retries": poller["redelivered"],
            "dead_lettered": len(dead_letters),
            "members_told": len(observed.told),
            "poison_dead_lettered": any(POISON_MARK.strip() in d["what"] for d in dead_letters),
            "poison_member_told": bool(poison_member and observed.told.get(poison_member.index)),
            "faults": faults,
            "wall_seconds": round(time.monotonic() - started, 1),
            "drained": drained,
            # Details, for diagnosis.
            "lost_messages": [by_member[i].tag(d, n) for i, d, n in lost][:40],
            "duplicated_messages": tally.duplicated[:40],
            "out_of_order_messages": tally.out_of_order[:40],
            "dead_letter_jobs": dead_letters[:40],
            "notices": {by_member[i].label: texts[:3] for i, texts in sorted(observed.told.items())},
            "member_problems": {m.label: m.problem for m in self.members if m.problem},
            "interactions_failed": sum(m.interactions_failed for m in self.members),
            "echo_missing": echo_missing,
            "echo_duplicated": sum(len(v) - len(set(v)) for v in observed.echoes.values()),
            "discord_429_from_rate_limits": max(0, observed.discord_429 - injected_429),
            "duplicate_flex_tasks": len(tasks) - len({str(t.get("conversation_sid")) for t in tasks}),
            "agent_messages_under_another_name": len(observed.wrong_speaker),
            "agent_messages_under_another_name_sample": observed.wrong_speaker[:5],
            "join_notices_missing": sum(
                1 for m in self.members if m.task_sid and m.index not in observed.joined
            ),
            "member_slow_downs": sum(m.slowed_down for m in self.members),
            "sequences": {
                by_member[index].label + " " + direction: numbers
                for (index, direction), numbers in sorted(observed.arrivals.items())
                if any(f"m{index:02d} {direction} " in tag for tag in tally.duplicated + tally.out_of_order)
            },
            "lost_why": self._why_lost(lost[:20]),
            "poller": poller,
            "worker_immediate_retries": self.schedule.immediate_retries,
            "undrained": {} if drained else self.last_drain_state,
            "poisoned_message": self.plan.poison_tag,
        }

    def _why_lost(self, lost: list[tuple[int, str, int]]) -> dict[str, str]:
        """For each lost message, what the member was last told (member to agent), or what became
        of Twilio's webhook for it (agent to member)."""
        stack = self.stack
        assert stack is not None
        discord, twilio = stack.discord, stack.twilio
        assert discord is not None
        assert twilio is not None
        by_member = {member.index: member for member in self.members}
        deliveries = twilio.webhook_deliveries
        why: dict[str, str] = {}
        for index, direction, number in lost:
            member = by_member[index]
            tag = member.tag(direction, number)
            if direction == TO_AGENT:
                token = member.reply_tokens.get(number, "")
                original = discord.original_response(token) if token else None
                why[tag] = f"member told: {(original or {}).get('content')!r}"
            else:
                outcomes = [
                    f"{d.outcome}{'(copy)' if d.duplicate else ''}"
                    for d in deliveries
                    if d.params.get("Body") == tag
                ]
                why[tag] = f"webhook: {outcomes}"
        return why

    def _observe(self) -> _Observed:
        """What arrived where: member messages in the Twilio conversations, agent messages (and the
        member's own echoes, and failure notices) in each member's DM and interaction answers."""
        stack = self.stack
        assert stack is not None
        discord, twilio = stack.discord, stack.twilio
        assert discord is not None
        assert twilio is not None
        observed = _Observed(discord_429=sum(1 for r in discord.requests if r.status == 429))
        for conversation in twilio.conversations():
            for message in twilio.messages(conversation["sid"]):
                for found in TAG.finditer(str(message.get("body") or "")):
                    if found.group(2) == TO_AGENT:
                        observed.arrive(int(found.group(1)), TO_AGENT, int(found.group(3)))
        for member in self.members:
            for message in discord.messages(member.dm_channel_id):
                observed.in_dm(member, str(message.get("content") or ""))
            for token in member.tokens:
                summary = discord.interaction_summary(token)
                for answer in [summary.get("original") or {}, *summary.get("followups", [])]:
                    content = str(answer.get("content") or "")
                    if content.startswith(NOTICE_PREFIX):
                        observed.told.setdefault(member.index, []).append(content)
        return observed

    def _dead_letters(self) -> list[dict[str, str]]:
        assert self.stack is not None
        assert self.stack.resources is not None
        import boto3

        sqs = boto3.client("sqs")
        found: list[dict[str, str]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.stack.resources.dead_letter_queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=300,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                try:
                    job = json.loads(message["Body"])
                except ValueError:
                    found.append({"kind": "unreadable", "what": message["Body"][:80]})
                    continue
                payload = job.get("payload") or {}
                what = str(payload.get("text") or payload.get("Body") or payload.get("EventType") or "")
                found.append(
                    {
                        "kind": str(job.get("kind")),
                        "what": self._describe_job(job, what),
                        # The count includes this read of the dead-letter queue.
                        "deliveries": str(_receive_count(dict(message)) - 1),
                    }
                )

    def _describe_job(self, job: dict[str, Any], what: str) -> str:
        context = job.get("context") or {}
        who = self.plan.aliases.stable(str(context.get("user_id", "")))
        return f"{who} {what}".strip()[:120]


@dataclass
class _Observed:
    arrivals: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    echoes: dict[int, list[int]] = field(default_factory=dict)
    told: dict[int, list[str]] = field(default_factory=dict)
    joined: set[int] = field(default_factory=set)
    #: Agent messages shown under another name than the agent's (e.g. before the join was seen).
    wrong_speaker: list[str] = field(default_factory=list)
    discord_429: int = 0

    def arrive(self, member: int, direction: str, number: int) -> None:
        self.arrivals.setdefault((member, direction), []).append(number)

    def in_dm(self, member: Member, content: str) -> None:
        if content.startswith(NOTICE_PREFIX):
            self.told.setdefault(member.index, []).append(content)
        if content.startswith("🎧") and member.agent_name in content:
            self.joined.add(member.index)
        tagged = TAG.search(content)
        if tagged is None or int(tagged.group(1)) != member.index:
            return
        if tagged.group(2) == TO_MEMBER:
            self.arrive(member.index, TO_MEMBER, int(tagged.group(3)))
            if not content.startswith(f"**{member.agent_name}:**"):
                self.wrong_speaker.append(content[:80])
        elif content.startswith("💬"):
            self.echoes.setdefault(member.index, []).append(int(tagged.group(3)))


@dataclass
class _Tally:
    delivered: set[tuple[int, str, int]] = field(default_factory=set)
    duplicated: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)


def _tally(arrivals: dict[tuple[int, str], list[int]], by_member: dict[int, Member]) -> _Tally:
    """Per member and direction, in arrival order: a number seen before is a duplicate; a first
    arrival below the highest number already arrived is out of order."""
    tally = _Tally()
    for (index, direction), numbers in sorted(arrivals.items()):
        seen: set[int] = set()
        highest = 0
        for number in numbers:
            member = by_member.get(index)
            tag = member.tag(direction, number) if member else f"chaos m{index:02d} {direction} #{number:03d}"
            if number in seen:
                tally.duplicated.append(tag)
                continue
            seen.add(number)
            tally.delivered.add((index, direction, number))
            if number < highest:
                tally.out_of_order.append(tag)
            highest = max(highest, number)
    return tally


def run_chaos(config: ChaosConfig, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """One chaos run; returns its figures. Everything it starts is stopped, whatever happens."""
    started = time.monotonic()
    run = ChaosRun(config, progress)
    try:
        progress(f"starting the local stack (seed {config.seed})…")
        run.start()
        phases = {"start": time.monotonic() - started}
        progress(f"{config.members} members × {config.messages_per_member} messages each way…")
        run.run_members()
        phases["conversations"] = time.monotonic() - started - sum(phases.values())
        progress("draining the queue…")
        drained = run.drain()
        phases["drain"] = time.monotonic() - started - sum(phases.values())
        figures = run.figures(started, drained)
        figures["phase_seconds"] = {name: round(seconds, 1) for name, seconds in phases.items()}
        return figures
    finally:
        run.close()


# -- the command --------------------------------------------------------------------------------

MAIN_FIGURES = (
    "sent",
    "delivered",
    "lost",
    "duplicated",
    "out_of_order",
    "retries",
    "dead_lettered",
    "members_told",
)


def format_figures(figures: dict[str, Any]) -> str:
    lines = [
        f"chaos seed {figures['seed']}: {figures['members']} members, "
        f"{figures['messages_per_member']} messages each way per member",
    ]
    lines += [f"  {name.replace('_', ' '):<28}{figures[name]}" for name in MAIN_FIGURES]
    lines.append(
        f"  {'poisoned job':<28}dead-lettered: {figures['poison_dead_lettered']}, "
        f"member told: {figures['poison_member_told']} ({figures['poisoned_message']})"
    )
    lines.append(f"  {'wall time':<28}{figures['wall_seconds']} s (drained: {figures['drained']})")
    lines.append("  faults injected:")
    lines += [f"    {name:<42}{count}" for name, count in figures["faults"].items()]
    lines.append("  details:")
    for name in (
        "phase_seconds",
        "sent_member_to_agent",
        "sent_agent_to_member",
        "interactions_failed",
        "echo_missing",
        "echo_duplicated",
        "discord_429_from_rate_limits",
        "duplicate_flex_tasks",
        "poller",
        "worker_immediate_retries",
        "undrained",
        "member_problems",
        "member_slow_downs",
        "join_notices_missing",
        "agent_messages_under_another_name",
        "agent_messages_under_another_name_sample",
        "lost_messages",
        "lost_why",
        "sequences",
        "duplicated_messages",
        "out_of_order_messages",
        "dead_letter_jobs",
        "notices",
    ):
        value = figures.get(name)
        if value or value == 0:
            lines.append(f"    {name.replace('_', ' '):<28}{json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def goals_met(figures: dict[str, Any]) -> bool:
    return bool(
        figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["out_of_order"] == 0
        and figures["poison_dead_lettered"]
        and figures["poison_member_told"]
    )


def main(argv: list[str] | None = None) -> int:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--members", type=int, default=defaults.members)
    parser.add_argument("--messages-per-member", type=int, default=defaults.messages_per_member)
    parser.add_argument("--max-receive-count", type=int, default=defaults.max_receive_count)
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--concurrency", type=int, default=defaults.worker_concurrency)
    parser.add_argument(
        "--scaled-lambda-timeout",
        action="store_true",
        help="shrink the worker's 60 s Lambda timeout with the time scale (see the module doc)",
    )
    parser.add_argument("--crashes", type=int, default=defaults.worker_crashes)
    parser.add_argument(
        "--fault-scale", type=float, default=1.0, help="multiply every fault rate (0 turns faults off)"
    )
    parser.add_argument("--no-poison", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="where the functions' logs go (default .devstack/chaos-SEED.log)",
    )
    arguments = parser.parse_args(argv)
    config = replace(
        defaults,
        seed=arguments.seed,
        members=arguments.members,
        messages_per_member=arguments.messages_per_member,
        max_receive_count=arguments.max_receive_count,
        time_scale=arguments.time_scale,
        worker_concurrency=arguments.concurrency,
        lambda_timeout=None if arguments.scaled_lambda_timeout else defaults.lambda_timeout,
        worker_crashes=arguments.crashes if arguments.fault_scale else 0,
        poison=not arguments.no_poison,
    )
    config = scale_faults(config, arguments.fault_scale)
    log_path: Path = arguments.log or ROOT / ".devstack" / f"chaos-{config.seed}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    console, terminal = sys.stdout, sys.stderr

    def progress(text: str) -> None:
        print(text, file=terminal, flush=True)

    with log_path.open("w", encoding="utf-8") as log_file:
        _send_logs_to(log_file)
        # EMF metrics are printed, and the servers print what a handler raised.
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            figures = run_chaos(config, progress)
    if arguments.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False), file=console)
    else:
        print(format_figures(figures), file=console)
        print(f"  logs: {log_path}", file=console)
    return 0 if goals_met(figures) else 1


def scale_faults(config: ChaosConfig, factor: float) -> ChaosConfig:
    names = (
        "discord_429",
        "discord_5xx",
        "discord_timeout",
        "twilio_5xx",
        "twilio_timeout",
        "crash_rate",
        "sqs_expired_visibility",
        "sqs_lost_delete",
        "dynamodb_throttle",
    )
    changed: dict[str, Any] = {name: getattr(config, name) * factor for name in names}
    if factor == 0:
        changed["webhook_max_copies"] = 1
    return replace(config, **changed)


def _send_logs_to(stream: IO[str]) -> None:
    """The functions log JSON to stdout (Powertools): keep the terminal for the figures."""
    logging.basicConfig(stream=stream, level=logging.WARNING, force=True)
    for name in ("flexcord", "devstack", "chaos"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(stream)
    logging.getLogger("flexcord").setLevel(logging.WARNING)
    for name in ("twilio.http_client", "werkzeug", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
