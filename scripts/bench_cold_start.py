"""Cold-start figures for InteractionsFunction, each run in a fresh Python process.

    make bench            (or: .venv/bin/python scripts/bench_cold_start.py --runs 15)

For each run it measures: importing the handler module, the first PING, the first /bug (a
modal, answered inline) and the first modal submit (which imports boto3 and enqueues to an SQS
FIFO queue served by moto on loopback). It runs once with bytecode available (what the build
ships) and once with an empty bytecode cache (what a plain `sam build` would ship).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path[:0] = [sys.argv[1] + "/layers/flexcord", sys.argv[1]]
import importlib.util
spec = importlib.util.spec_from_file_location("app", sys.argv[1] + "/functions/interactions/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
t1 = time.perf_counter()
from scripts.events import discord_events, http_event, resign
class Context:
    function_name = "InteractionsFunction"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:InteractionsFunction"
    def get_remaining_time_in_millis(self): return 3000
events = discord_events()
def invoke(name):
    event = resign(http_event(events[name]))
    start = time.perf_counter(); result = app.handler(event, Context()); elapsed = time.perf_counter() - start
    assert result["statusCode"] == 200, result
    return elapsed, json.loads(result["body"])["type"]
setup = time.perf_counter() - t1
ping, ping_type = invoke("discord_ping")
modal, modal_type = invoke("discord_bug_command")
boto_loaded_before_submit = "boto3" in sys.modules
submit, submit_type = invoke("discord_bug_modal_submit")
print(json.dumps({"import": t1 - t0, "ping": ping, "modal": modal, "submit": submit,
                  "types": [ping_type, modal_type, submit_type],
                  "boto3_before_submit": boto_loaded_before_submit, "twilio": "twilio" in sys.modules,
                  "xray": "aws_xray_sdk" in sys.modules}))
"""


def run_once(environment: dict[str, str], *, bytecode: bool) -> dict[str, float]:
    env = dict(environment)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="flexcord-nopyc-")
    output = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT)], env=env, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def summarise(label: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{label} ({len(runs)} fresh processes), milliseconds:")
    print(f"  {'step':<34}{'median':>9}{'p95':>9}{'max':>9}")
    for key, text in [
        ("import", "import handler module"),
        ("ping", "first PING"),
        ("modal", "first /bug (modal)"),
        ("submit", "first modal submit (boto3 + SQS)"),
    ]:
        values = sorted(run[key] * 1000 for run in runs)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"  {text:<34}{statistics.median(values):>9.1f}{p95:>9.1f}{values[-1]:>9.1f}")
    to_modal = sorted((run["import"] + run["ping"] + run["modal"]) * 1000 for run in runs)
    print(f"  {'import + PING + /bug':<34}{statistics.median(to_modal):>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    arguments = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "DISCORD_APPLICATION_ID": "1310000000000000000",
        "DISCORD_PUBLIC_KEY": json.loads((ROOT / "events/test-signing-key.json").read_text())[
            "public_key_hex"
        ],
        "POWERTOOLS_METRICS_NAMESPACE": "Flexcord",
    }
    import boto3

    sqs = boto3.client("sqs", endpoint_url=environment["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip
    environment["JOB_QUEUE_URL"] = sqs.create_queue(QueueName="bench.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    try:
        warm = [run_once(environment, bytecode=True) for _ in range(arguments.runs)]
        cold = [run_once(environment, bytecode=False) for _ in range(arguments.runs)]
    finally:
        server.stop()
    first = warm[0]
    print(f"Python {sys.version.split()[0]}; response types {first['types']} (PONG, modal, deferred)")
    print(
        f"boto3 loaded before the first enqueue: {first['boto3_before_submit']}; "
        f"twilio loaded: {first['twilio']}; X-Ray SDK loaded: {first['xray']}"
    )
    summarise("With bytecode (as built)", warm)
    summarise("Without bytecode (compiling every module)", cold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
