"""The interactions path stays light: no twilio, no X-Ray SDK, and boto3 only once a job is
enqueued. Checked in a fresh interpreter, where sys.modules tells the truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
sys.path[:0] = [sys.argv[1] + "/layers/flexcord", sys.argv[1]]
import importlib.util
# Every Tracer made anywhere is counted: outside Lambda a Tracer may not import the X-Ray SDK,
# so the modules loaded alone would not show one.
from aws_lambda_powertools.tracing.tracer import Tracer
tracers = []
_make_tracer = Tracer.__init__
def _counted(self, *args, **kwargs):
    tracers.append(1)
    _make_tracer(self, *args, **kwargs)
Tracer.__init__ = _counted
spec = importlib.util.spec_from_file_location("app", sys.argv[1] + "/functions/interactions/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
from scripts.events import discord_events, http_event, resign
class Context:
    function_name = "InteractionsFunction"; memory_limit_in_mb = 512; aws_request_id = "probe"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:InteractionsFunction"
    def get_remaining_time_in_millis(self): return 3000
# Powertools imports the bare `botocore` package (1 ms) to register its user agent; the costly
# parts are the session and client machinery, which only boto3 use loads.
heavy = ("boto3", "botocore.session", "botocore.client", "twilio", "aws_xray_sdk", "requests",
         "flexcord.interactions.routes")
seen = {}
events = discord_events()
for name in ("discord_ping", "discord_bug_command", "discord_unknown_command", "discord_bug_modal_submit"):
    result = app.handler(resign(http_event(events[name])), Context())
    seen[name] = {"status": result["statusCode"], "type": json.loads(result["body"]).get("type"),
                  "loaded": sorted(m for m in heavy if m in sys.modules), "tracers": len(tracers)}
print(json.dumps(seen))
"""


def test_only_enqueueing_loads_boto3_and_nothing_loads_twilio_or_xray_or_makes_a_tracer() -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_APPLICATION_ID": "1310000000000000000",
        "DISCORD_PUBLIC_KEY": json.loads((ROOT / "events/test-signing-key.json").read_text())[
            "public_key_hex"
        ],
        # A closed port: the enqueue fails fast, which is enough to show when boto3 loads.
        "JOB_QUEUE_URL": "http://127.0.0.1:9/000000000000/jobs.fifo",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "probe",
        "AWS_SECRET_ACCESS_KEY": "probe",
        "AWS_MAX_ATTEMPTS": "1",
    }
    completed = subprocess.run(  # noqa: PLW1510 - the return code is asserted with stderr shown
        [sys.executable, "-c", PROBE, str(ROOT)], env=environment, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    # Discord's PING (its check when the endpoint's URL is saved) loads not even the routes.
    assert seen["discord_ping"]["loaded"] == []
    for name in ("discord_bug_command", "discord_unknown_command"):
        assert seen[name]["status"] == 200
        assert seen[name]["loaded"] == ["flexcord.interactions.routes"], name
    submit = seen["discord_bug_modal_submit"]
    # The queue is unreachable, so the member is asked to retry (type 4), never a 500.
    assert (submit["status"], submit["type"]) == (200, 4)
    assert {"boto3", "botocore.session", "botocore.client"} <= set(submit["loaded"])
    assert seen["discord_ping"]["status"] == 200
    assert "twilio" not in submit["loaded"]
    assert "aws_xray_sdk" not in submit["loaded"]
    assert [seen[name]["tracers"] for name in seen] == [0, 0, 0, 0]  # no Tracer, on any path


WEBHOOK_PROBE = r"""
import json, sys, time
sys.path[:0] = [sys.argv[1] + "/layers/flexcord", sys.argv[1]]
import importlib.util
spec = importlib.util.spec_from_file_location("app", sys.argv[1] + "/functions/announcements_webhook/app.py")
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
from flexcord.announcements.webhook import sign
class Context:
    function_name = "AnnouncementsWebhookFunction"; memory_limit_in_mb = 256; aws_request_id = "probe"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:AnnouncementsWebhookFunction"
    def get_remaining_time_in_millis(self): return 5000
heavy = ("boto3", "botocore.session", "botocore.client", "twilio", "aws_xray_sdk", "requests")
def request(secret):
    body = json.dumps({"title": "t", "text": "x", "idempotency_key": "k"})
    now = str(int(time.time()))
    headers = {"x-flexcord-timestamp": now, "x-flexcord-signature": sign(secret, now, body.encode())}
    return {"rawPath": "/announcements/webhook", "body": body, "headers": headers,
            "requestContext": {"http": {"method": "POST"}}}
seen = {}
for name, secret in (("forged", "wrong"), ("signed", "probe-secret")):
    result = app.handler(request(secret), Context())
    seen[name] = {"status": result["statusCode"], "loaded": sorted(m for m in heavy if m in sys.modules)}
print(json.dumps(seen))
"""


def test_the_announcements_webhook_loads_no_twilio_and_boto3_only_to_enqueue() -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "ANNOUNCEMENTS_WEBHOOK_SECRET": "probe-secret",
        "DISCORD_APPLICATION_ID": "1310000000000000000",
        "DISCORD_GUILD_ID": "123456789012345678",
        "JOB_QUEUE_URL": "http://127.0.0.1:9/000000000000/jobs.fifo",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "probe",
        "AWS_SECRET_ACCESS_KEY": "probe",
        "AWS_MAX_ATTEMPTS": "1",
    }
    completed = subprocess.run(  # noqa: PLW1510 - the return code is asserted with stderr shown
        [sys.executable, "-c", WEBHOOK_PROBE, str(ROOT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen["forged"] == {"status": 401, "loaded": []}
    # The queue is unreachable: a 503 to send again, never a 500.
    assert seen["signed"]["status"] == 503
    assert {"boto3", "botocore.client"} <= set(seen["signed"]["loaded"])
    assert "twilio" not in seen["signed"]["loaded"]
    assert "aws_xray_sdk" not in seen["signed"]["loaded"]
