"""Flexcord's benchmark: every figure next to its budget, all measured in one run on this machine.

    make bench                      (about 6 minutes; or: .venv/bin/python scripts/bench.py)
    .venv/bin/python scripts/bench.py --quick       (a smoke run: 2 runs, 200 requests, no build)

Writes ``.bench/report.json`` (scripts/bench_report.py: name, value, unit, budget, note) and prints
the summary. The sections:

1. **Cold start** of each function in fresh processes, against the local stack (moto, the Discord
   and Twilio emulators on loopback, started once here): from spawning ``python`` to the first
   call's answer, in ms and as a multiple of the bare interpreter (``python -c pass``, spawned to
   its exit, the same number of times in the same run). Interactions to its first PONG and to its
   first enqueue (a /bug form submitted: the member's rate limit counted on DynamoDB, the job sent
   to SQS); the worker's first relay (an agent's message, as a Lambda SQS batch, posted to the
   member's Discord DM); the conversation-events endpoint's first signed Twilio webhook; the
   chatbot's first answer from the help centre.
2. **Warm latency** of the interactions handler in one process, p50 and p99 over signed requests:
   PING, /bug (the modal) and the form's submit (rate limit + enqueue on moto on loopback).
3. **Packages**: each function's artifact and its layers after ``sam build``, zipped (deflate) and
   unzipped (Lambda's limit: 250 MB unzipped, function and layers together); and the import time
   of each function's handler in fresh processes.

4. **Relay** (scripts/bench_relay.py): latency each way through the local stack, and the work
   per relayed message; then what that work costs on AWS (scripts/bench_cost.py).
5. **Burst drain** (scripts/bench_burst.py): 2,000 agent messages to 200 members, drained by
   five worker processes through the emulated Discord's real limits.

The handlers are loaded from the source tree with the development venv (the built layers' native
code is arm64), with bytecode written by a first, unmeasured run of each probe.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.control_client import wait_for  # noqa: E402
from scripts.bench_report import REPORT, Figure, summary, write_report  # noqa: E402

BUILD_DIR = ROOT / ".aws-sam" / "build"
#: Lambda's limit on a function's code and layers together, unzipped (250 MB of 2**20 bytes).
LAMBDA_UNZIPPED_LIMIT_MB = 250
MB = 1024 * 1024
FUNCTIONS = {
    "InteractionsFunction": "interactions",
    "WorkerFunction": "worker",
    "ConversationEventsFunction": "conversation_events",
    "ChatbotFunction": "chatbot",
    "CommandsFunction": "commands",
    "SchedulerFunction": "scheduler",
    "AnnouncementsWebhookFunction": "announcements_webhook",
}
#: Set in this process only: the stack's functions running here keep quiet (the probes do not).
QUIET_HERE = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
#: Marks the probe's own lines on stdout (Powertools logs and metrics go there too).
MARK = "BENCH "

# A fresh process: import the handler (timed), then invoke it on each event of a JSON file, printing
# a marked line as each call returns; the parent timestamps the first line it reads.
COLD_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
root, folder, function_name, events_file = sys.argv[1:5]
sys.path[:0] = [root + "/layers/flexcord"]
import importlib.util
spec = importlib.util.spec_from_file_location("app", f"{root}/functions/{folder}/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
imported = time.perf_counter() - t0
class Context:
    memory_limit_in_mb = 512; aws_request_id = "bench"; function_version = "$LATEST"
    function_name = function_name
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function_name
    def get_remaining_time_in_millis(self): return 30000
with open(events_file) as opened:
    events = json.load(opened)
for event in events:
    start = time.perf_counter()
    result = app.handler(event, Context())
    elapsed = time.perf_counter() - start
    print("BENCH " + json.dumps({"import": imported, "call": elapsed, "result": result}), flush=True)
"""

# One process, many requests: the interactions handler on signed requests, each call timed.
WARM_PROBE = r"""
import json, sys, time
root, count = sys.argv[1], int(sys.argv[2])
sys.path[:0] = [root + "/layers/flexcord", root]
import importlib.util
spec = importlib.util.spec_from_file_location("app", f"{root}/functions/interactions/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
from scripts.events import discord_events, http_event, resign
class Context:
    function_name = "InteractionsFunction"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:InteractionsFunction"
    def get_remaining_time_in_millis(self): return 3000
samples = discord_events()
def signed(name, number):
    payload = json.loads(json.dumps(samples[name]))
    if name == "discord_bug_modal_submit":
        # A member of its own and an interaction of its own each time: nobody hits the rate limit
        # and SQS deduplicates nothing, so every request enqueues.
        payload["id"] = str(1400000000000000000 + number)
        payload["member"]["user"]["id"] = str(1500000000000000000 + number)
        payload["token"] = f"bench-token-{number}"
    return resign(http_event(payload))
expected = {"discord_ping": 1, "discord_bug_command": 9, "discord_bug_modal_submit": 5}
timings = {}
for name, kind in expected.items():
    times = []
    for index in range(count + 50):
        event = signed(name, index)  # signed just before (a signature is good for minutes only)
        start = time.perf_counter()
        result = app.handler(event, Context())
        elapsed = time.perf_counter() - start
        assert result["statusCode"] == 200 and json.loads(result["body"])["type"] == kind, result
        if index >= 50:  # the first 50 warm the process (clients, connections) and are not counted
            times.append(elapsed)
    timings[name] = times
print("BENCH " + json.dumps(timings), flush=True)
"""


@dataclass(frozen=True)
class ColdCase:
    """One cold start to measure: a function, what its first call is, and the events for run n."""

    key: str
    folder: str
    function_name: str
    what: str
    events: Callable[[int], list[dict[str, Any]]]
    check: Callable[[Any], None]
    budget_ms: str | None = None
    ratio_budget: str | None = None


# -- helpers ---------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spawn_to_first_mark(arguments: list[str], environment: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Seconds from spawning the process to its first marked line, and that line."""
    start = time.perf_counter()
    process = subprocess.Popen(
        arguments, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    first: tuple[float, dict[str, Any]] | None = None
    for line in process.stdout:
        if line.startswith(MARK) and first is None:
            first = (time.perf_counter() - start, json.loads(line[len(MARK) :]))
    stderr = process.stderr.read() if process.stderr else ""
    if process.wait() != 0 or first is None:
        raise RuntimeError(f"probe {arguments[3:5]} failed ({process.returncode}):\n{stderr[-3000:]}")
    return first


def bare_interpreter(environment: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=environment, check=True)
    return time.perf_counter() - start


# -- the local stack and the events ----------------------------------------------------------------


@dataclass
class StackWorld:
    """What the cold-start events need from the running stack."""

    environment: dict[str, str]
    public_base_url: str
    twilio_auth_token: str
    conversation_sid: str
    member_identity: str
    bench_queue_url: str
    #: The messages in the member's DM (the worker's relays land there).
    relayed: Callable[[], list[dict[str, Any]]]


@contextmanager
def local_stack() -> Iterator[tuple[Any, StackWorld]]:
    """The local stack with alice in a support chat with the assistant (a session and its Twilio
    conversation), and an unpolled queue that the measured endpoints enqueue to, so that nothing
    here does the jobs' work while a probe runs."""
    import logging

    import boto3

    from devstack.stack import LocalStack

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with LocalStack(use_published_test_key=True) as stack:
        discord, twilio, resources, gateway = stack.discord, stack.twilio, stack.resources, stack.gateway
        assert discord is not None
        assert twilio is not None
        assert resources is not None
        assert gateway is not None
        alice = discord.user_id("alice")
        discord.run_command("alice", "helpme", {"question": "my pokéstop is missing"})
        session = wait_for(lambda: _session(stack, alice), 30.0, 0.1, what="alice's support session")
        wait_for(lambda: _queue_is_empty(resources.job_queue_url), 30.0, 0.1, what="the job queue to empty")
        sqs = boto3.client("sqs")
        bench_queue = sqs.create_queue(
            QueueName=f"bench-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        environment = {**os.environ, "JOB_QUEUE_URL": bench_queue}
        for name in QUIET_HERE:  # the probes log and emit metrics as a function does
            environment.pop(name, None)
        yield (
            stack,
            StackWorld(
                environment=environment,
                public_base_url=gateway.base_url,
                twilio_auth_token=twilio.auth_token,
                conversation_sid=session["conversation_sid"],
                member_identity=session["member_identity"],
                bench_queue_url=bench_queue,
                relayed=lambda: discord.messages(discord.dm_channel_id("alice")),
            ),
        )


def _session(stack: Any, user_id: str) -> dict[str, str] | None:
    import boto3

    item = (
        boto3.client("dynamodb")
        .get_item(
            TableName=stack.resources.table_name,
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "SESSION"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if not item or "conversation_sid" not in item:
        return None
    return {name: str(next(iter(value.values()))) for name, value in item.items()}


def _queue_is_empty(queue_url: str) -> bool:
    import boto3

    counts = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in counts.values())


def cold_cases(world: StackWorld) -> list[ColdCase]:
    from twilio.request_validator import RequestValidator

    from flexcord.jobs.model import Job, JobKind
    from scripts.events import discord_events, http_event, resign, sqs_record, twilio_events

    samples = discord_events()
    twilio_samples = twilio_events()
    validator = RequestValidator(world.twilio_auth_token)

    def interaction(name: str) -> Callable[[int], list[dict[str, Any]]]:
        def events(run: int) -> list[dict[str, Any]]:
            payload = json.loads(json.dumps(samples[name]))
            payload["id"] = str(1600000000000000000 + run)
            if "member" in payload:  # a member of its own each run: under the rate limit
                payload["member"]["user"]["id"] = str(1700000000000000000 + run)
            payload["token"] = f"bench-cold-{run}"
            return [resign(http_event(payload))]

        return events

    def message_sid(run: int, salt: str) -> str:
        return "IM" + uuid.uuid5(uuid.NAMESPACE_OID, f"{salt}{run}{time.time()}").hex

    def worker_batch(run: int) -> list[dict[str, Any]]:
        sid = message_sid(run, "relay")
        job = Job(
            kind=JobKind.CONVERSATION_EVENT,
            key=f"message:{sid}",
            group=world.conversation_sid,
            payload={
                "EventType": "onMessageAdded",
                "Source": "SDK",
                "ConversationSid": world.conversation_sid,
                "MessageSid": sid,
                "Author": "agent_alex",
                "Body": f"bench relay {run}",
            },
        )
        return [{"Records": [sqs_record(1, job)]}]

    def webhook(run: int) -> list[dict[str, Any]]:
        url = f"{world.public_base_url}/twilio/conversation-events"
        params = dict(urlencode_params(twilio_samples["twilio_conversation_message_added"]["body"]))
        params.update(
            ConversationSid=world.conversation_sid,
            MessageSid=message_sid(run, "webhook"),
            Body=f"bench webhook {run}",
        )
        event = json.loads(json.dumps(twilio_samples["twilio_conversation_message_added"]))
        event["body"] = urlencode(params)
        event["headers"]["x-twilio-signature"] = validator.compute_signature(url, params)
        event["headers"]["i-twilio-idempotency-token"] = str(uuid.uuid4())
        return [event]

    def chatbot(run: int) -> list[dict[str, Any]]:
        import hashlib

        body = json.dumps(
            {
                "conversation_sid": world.conversation_sid,
                "message_sid": message_sid(run, "chatbot"),
                "author": world.member_identity,
                "body": "how do I report a missing pokéstop?",
                "attributes": "{}",
            }
        )
        query = f"bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
        event = json.loads(json.dumps(twilio_samples["twilio_chatbot_request"]))
        event.update(body=body, rawQueryString=query, queryStringParameters={"bodySHA256": query[11:]})
        url = f"{world.public_base_url}/twilio/chatbot?{query}"
        event["headers"]["x-twilio-signature"] = validator.compute_signature(url, {})
        event["headers"]["i-twilio-idempotency-token"] = str(uuid.uuid4())
        return [event]

    def http_ok(kind: int | None = None) -> Callable[[Any], None]:
        def check(result: Any) -> None:
            if result.get("statusCode") != 200:
                raise RuntimeError(f"unexpected answer: {result}")
            if kind is not None and json.loads(result["body"])["type"] != kind:
                raise RuntimeError(f"unexpected interaction response: {result['body']}")

        return check

    def answered(result: Any) -> None:
        http_ok()(result)
        body = json.loads(result["body"])
        # An answer from the articles, not the "nothing to do" of a chat the assistant left.
        if not body.get("reply") or body.get("handoff") or not body.get("articles"):
            raise RuntimeError(f"the assistant did not answer from the help centre: {body}")

    def relayed(result: Any) -> None:
        if result != {"batchItemFailures": []}:
            raise RuntimeError(f"the relay failed: {result}")

    return [
        ColdCase(
            "interactions.first_pong",
            "interactions",
            "InteractionsFunction",
            "a signed PING answered with PONG",
            interaction("discord_ping"),
            http_ok(1),
            ratio_budget="<= 6",
        ),
        ColdCase(
            "interactions.first_enqueue",
            "interactions",
            "InteractionsFunction",
            "a signed /bug form submit: rate limit counted on DynamoDB, job sent to SQS (moto)",
            interaction("discord_bug_modal_submit"),
            http_ok(5),
            budget_ms="<= 350",
        ),
        ColdCase(
            "worker.first_relay",
            "worker",
            "WorkerFunction",
            "an SQS batch of one conversation event: an agent's message posted to the member's "
            "Discord DM (emulator), session read from DynamoDB (moto)",
            worker_batch,
            relayed,
        ),
        ColdCase(
            "conversation_events.first_webhook",
            "conversation_events",
            "ConversationEventsFunction",
            "a Twilio-signed onMessageAdded webhook: token from Secrets Manager, signature checked, "
            "job sent to SQS (moto)",
            webhook,
            http_ok(),
        ),
        ColdCase(
            "chatbot.first_answer",
            "chatbot",
            "ChatbotFunction",
            "a Twilio-signed question from the member in an assistant chat, answered from the "
            "help centre (index and embedding model loaded), the member's copy sent to SQS (moto)",
            chatbot,
            answered,
        ),
    ]


def urlencode_params(body: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(body, keep_blank_values=True)


# -- section 1: cold starts ------------------------------------------------------------------------


def measure_cold_starts(world: StackWorld, runs: int) -> list[Figure]:
    cases = cold_cases(world)
    bare: list[float] = []
    spawned: dict[str, list[float]] = {case.key: [] for case in cases}
    calls: dict[str, list[float]] = {case.key: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="flexcord-bench-") as folder:

        def run_case(case: ColdCase, run: int) -> tuple[float, dict[str, Any]]:
            events_file = Path(folder) / f"{case.key}-{run}.json"
            events_file.write_text(json.dumps(case.events(run)))
            arguments = [sys.executable, "-c", COLD_PROBE, str(ROOT), case.folder, case.function_name]
            seconds, line = spawn_to_first_mark([*arguments, str(events_file)], world.environment)
            case.check(line["result"])
            return seconds, line

        # An unmeasured first run of each writes the bytecode, as the build ships it.
        bare_interpreter(world.environment)
        for case in cases:
            run_case(case, -1)
        # Interleaved, so that whatever else the machine does falls on every figure alike.
        for run in range(runs):
            bare.append(bare_interpreter(world.environment))
            for case in cases:
                seconds, line = run_case(case, run)
                spawned[case.key].append(seconds)
                calls[case.key].append(line["call"])

    relays = [m for m in world.relayed() if "bench relay" in str(m.get("content", ""))]
    if len(relays) < runs + 1:
        raise RuntimeError(f"{runs + 1} agent messages were relayed, but {len(relays)} reached the DM")
    bare_ms = statistics.median(bare) * 1000
    figures = [
        Figure(
            "cold_start.bare_interpreter",
            round(bare_ms, 1),
            "ms",
            note=f"`python -c pass`, spawn to exit, median of {runs}",
        )
    ]
    for case in cases:
        values_ms = [value * 1000 for value in spawned[case.key]]
        median_ms = statistics.median(values_ms)
        detail = (
            f"{case.what}; spawn to answer, median of {runs} fresh processes (p95 "
            f"{percentile(values_ms, 0.95):.0f} ms; the call itself "
            f"{statistics.median(calls[case.key]) * 1000:.0f} ms)"
        )
        figures.append(Figure(f"cold_start.{case.key}", round(median_ms, 1), "ms", case.budget_ms, detail))
        figures.append(
            Figure(
                f"cold_start.{case.key}.vs_bare",
                round(median_ms / bare_ms, 2),
                "x",
                case.ratio_budget,
                "median to the answer / median of `python -c pass`, same run",
            )
        )
    return figures


# -- section 2: warm latency -----------------------------------------------------------------------


def measure_warm_latency(world: StackWorld, requests: int) -> list[Figure]:
    import boto3

    queue = boto3.client("sqs").create_queue(
        QueueName=f"bench-warm-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    environment = {**world.environment, "JOB_QUEUE_URL": queue}
    # moto's FIFO queue gets slower with every message it holds: a deployed queue does not, so
    # the queue is drained (received and deleted, as the worker would) while the probe runs.
    done = threading.Event()

    def purge() -> None:
        client = boto3.client("sqs")
        while not done.wait(0.5):
            while received := client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
                client.delete_message_batch(
                    QueueUrl=queue,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(received)
                    ],
                )

    purger = threading.Thread(target=purge, daemon=True)
    purger.start()
    try:
        completed = subprocess.run(
            [sys.executable, "-c", WARM_PROBE, str(ROOT), str(requests)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        done.set()
        purger.join()
    marked = [line for line in completed.stdout.splitlines() if line.startswith(MARK)]
    if completed.returncode != 0 or not marked:
        raise RuntimeError(f"the warm probe failed:\n{completed.stderr[-3000:]}")
    timings: dict[str, list[float]] = json.loads(marked[-1][len(MARK) :])
    figures = []
    for name, label, budget, what in [
        ("discord_ping", "ping", "<= 5", "PING answered with PONG"),
        ("discord_bug_command", "bug_modal", "<= 5", "/bug answered with its modal"),
        (
            "discord_bug_modal_submit",
            "enqueue",
            "<= 15",
            "/bug form submit: rate limit on DynamoDB, job to SQS, both moto on loopback; a new "
            "member each time",
        ),
    ]:
        values_ms = [value * 1000 for value in timings[name]]
        note = f"{what}; {len(values_ms):,} signed requests in one warm process (after 50 unmeasured)"
        figures.append(
            Figure(f"warm.interactions.{label}.p50", round(percentile(values_ms, 0.5), 3), "ms", None, note)
        )
        figures.append(
            Figure(
                f"warm.interactions.{label}.p99", round(percentile(values_ms, 0.99), 3), "ms", budget, note
            )
        )
    return figures


# -- section 3: packages and imports ---------------------------------------------------------------


def sam_build() -> float:
    start = time.perf_counter()
    environment = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    environment.setdefault("SAM_CLI_TELEMETRY", "0")
    subprocess.run(
        [str(ROOT / ".venv-sam" / "bin" / "sam"), "build"],
        cwd=ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def function_layers(template: dict[str, Any]) -> dict[str, list[str]]:
    """Each function's layers: the global ones and its own (SAM adds them together)."""

    def names(layers: list[Any]) -> list[str]:
        return [str(layer["Ref"]) for layer in layers if isinstance(layer, dict) and "Ref" in layer]

    shared = names(template.get("Globals", {}).get("Function", {}).get("Layers", []))
    return {
        logical_id: shared + names(template["Resources"][logical_id]["Properties"].get("Layers", []))
        for logical_id in FUNCTIONS
    }


def zipped_size(folder: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a folder, zipped with deflate as sam package would."""
    unzipped = 0
    with tempfile.TemporaryFile() as sink:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    unzipped += path.stat().st_size
                    archive.write(path, path.relative_to(folder))
        sink.seek(0, os.SEEK_END)
        return sink.tell(), unzipped


def measure_packages(build_seconds: float | None, build_dir: Path = BUILD_DIR) -> list[Figure]:
    from devstack.template import load_template

    if not build_dir.is_dir():
        raise RuntimeError(f"{build_dir} is missing: run without --skip-build (or `make build`)")
    layers = function_layers(load_template())
    sizes: dict[str, tuple[int, int]] = {}
    for name in {name for names in layers.values() for name in names} | set(FUNCTIONS):
        sizes[name] = zipped_size(build_dir / name)
    built = (
        f"`sam build` in this run ({build_seconds:.0f} s)"
        if build_seconds is not None
        else "an existing build"
    )
    figures = []
    for logical_id, names in layers.items():
        parts = [logical_id, *names]
        zipped = sum(sizes[part][0] for part in parts) / MB
        unzipped = sum(sizes[part][1] for part in parts) / MB
        carried = " + ".join(parts)
        folder = FUNCTIONS[logical_id]
        figures.append(
            Figure(
                f"package.{folder}.zipped",
                round(zipped, 2),
                "MB",
                note=f"{carried}, each zipped (deflate); {built}; MB of 2**20 bytes",
            )
        )
        figures.append(
            Figure(
                f"package.{folder}.unzipped",
                round(unzipped, 2),
                "MB",
                f"<= {LAMBDA_UNZIPPED_LIMIT_MB}",
                f"{carried}; Lambda's limit is {LAMBDA_UNZIPPED_LIMIT_MB} MB unzipped",
            )
        )
    return figures


IMPORT_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path[:0] = [sys.argv[1] + "/layers/flexcord"]
import importlib.util
spec = importlib.util.spec_from_file_location("app", f"{sys.argv[1]}/functions/{sys.argv[2]}/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
print("BENCH " + json.dumps({"import": time.perf_counter() - t0}), flush=True)
"""


def measure_imports(environment: dict[str, str], runs: int) -> list[Figure]:
    seconds: dict[str, list[float]] = {folder: [] for folder in FUNCTIONS.values()}
    for run in range(-1, runs):  # run -1 writes the bytecode and is not counted
        for folder in FUNCTIONS.values():
            completed = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE, str(ROOT), folder],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            marked = [line for line in completed.stdout.splitlines() if line.startswith(MARK)]
            if run >= 0:
                seconds[folder].append(json.loads(marked[-1][len(MARK) :])["import"])
    return [
        Figure(
            f"import.{folder}",
            round(statistics.median(values) * 1000, 1),
            "ms",
            note=f"importing functions/{folder}/app.py from the source tree, median of {runs} fresh "
            f"processes (p95 {percentile(values, 0.95) * 1000:.0f} ms)",
        )
        for folder, values in seconds.items()
    ]


# -- the relay and burst sections (their own scripts) ---------------------------------------------


def measure_relay() -> list[Figure]:
    """The relay's figures, and what the work it counted costs on AWS (scripts/bench_cost.py)."""
    from scripts.bench_cost import cost_figures
    from scripts.bench_relay import TO_MEMBER, TO_TWILIO, measure

    figures = measure()
    return figures + cost_figures(figures, (TO_TWILIO, TO_MEMBER))


def measure_burst() -> list[Figure]:
    from scripts.bench_burst import measure

    return measure()


# -- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per cold-start figure")
    parser.add_argument("--requests", type=int, default=5000, help="warm requests per kind")
    parser.add_argument("--skip-build", action="store_true", help="size the existing .aws-sam/build")
    parser.add_argument("--skip-relay", action="store_true", help="leave out scripts/bench_relay.py")
    parser.add_argument("--skip-burst", action="store_true", help="leave out scripts/bench_burst.py")
    parser.add_argument(
        "--skip-packages", action="store_true", help="leave out the package sizes (no build needed)"
    )
    parser.add_argument("--quick", action="store_true", help="2 runs, 200 requests, no build (a smoke run)")
    parser.add_argument("--report", type=Path, default=REPORT, help=f"where to write (default {REPORT})")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.runs, arguments.requests, arguments.skip_build = 2, 200, True

    started = time.perf_counter()
    os.environ.update(QUIET_HERE)
    figures: list[Figure] = []
    build_seconds = None
    if not arguments.skip_build and not arguments.skip_packages:
        print("sam build ...", flush=True)
        build_seconds = sam_build()
    print("starting the local stack ...", flush=True)
    with local_stack() as (_stack, world):
        print(f"cold starts: {arguments.runs} runs of each ...", flush=True)
        figures += measure_cold_starts(world, arguments.runs)
        print(f"warm latency: {arguments.requests:,} requests of each kind ...", flush=True)
        figures += measure_warm_latency(world, arguments.requests)
        print("handler imports ...", flush=True)
        figures += measure_imports(world.environment, arguments.runs)
    if not arguments.skip_packages:
        print("package sizes ...", flush=True)
        figures += measure_packages(build_seconds)
    if not arguments.skip_relay:
        print("relay: latency and work per message, each way ...", flush=True)
        figures += measure_relay()
    if not arguments.skip_burst:
        print("burst drain: 2,000 agent messages to 200 members, 5 worker processes ...", flush=True)
        figures += measure_burst()

    write_report(figures, arguments.report)
    print()
    print(summary(figures))
    print(f"\n{len(figures)} figures in {time.perf_counter() - started:.0f} s; report: {arguments.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
