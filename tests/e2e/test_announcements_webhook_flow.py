"""The announcements webhook through the local stack: a signed request to the gateway, the real
handler (its secret read from Secrets Manager on moto), and the POST_ANNOUNCEMENT job on the SQS
FIFO queue. The poller is stopped for this module so the queued jobs can be read as queued (the
executor that posts them is tested with it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.stack import ANNOUNCEMENTS_WEBHOOK_SECRET, LocalStack
from flexcord.announcements.webhook import announcement_id, sign
from flexcord.jobs.model import Job, JobKind


@pytest.fixture(scope="module")
def quiet_stack(stack: LocalStack) -> Iterator[LocalStack]:
    assert stack.poller is not None
    stack.poller.stop()
    _drain(stack)
    yield stack
    _drain(stack)


def _drain(stack: LocalStack) -> list[Job]:
    """Every job on the queue now, removed from it, in queue order."""
    assert stack.resources is not None
    sqs = boto3.client("sqs")
    jobs: list[Job] = []
    while True:
        received = sqs.receive_message(
            QueueUrl=stack.resources.job_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return jobs
        for message in received:
            jobs.append(Job.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=stack.resources.job_queue_url, ReceiptHandle=message["ReceiptHandle"])


def post(
    stack: LocalStack,
    document: dict[str, Any],
    *,
    secret: str = ANNOUNCEMENTS_WEBHOOK_SECRET,
    age: int = 0,
    timestamp: str | None = None,
) -> requests.Response:
    """Sign and send ``document``; the same ``timestamp`` (and body) again is a replay."""
    assert stack.gateway is not None
    body = json.dumps(document).encode()
    timestamp = timestamp or str(int(time.time()) - age)
    return requests.post(
        f"{stack.gateway.base_url}/announcements/webhook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Flexcord-Timestamp": timestamp,
            "X-Flexcord-Signature": sign(secret, timestamp, body),
        },
        timeout=30,
    )


def test_a_signed_announcement_queues_one_job_with_the_contracts_payload(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    assert stack.discord is not None
    document = {
        "title": "Version 1.5 is out",
        "text": "Raids, and a new map.",
        "url": "https://example.com/blog/1-5",
        "image_url": "https://example.com/1-5.png",
        "channel": stack.discord.channel_ids["general"],
        "idempotency_key": "e2e-release-1.5",
    }
    response = post(stack, document)
    assert response.status_code == 202, response.text
    expected_id = announcement_id("e2e-release-1.5")
    assert response.json() == {"announcement_id": expected_id}
    (job,) = _drain(stack)
    assert job.kind is JobKind.POST_ANNOUNCEMENT
    assert job.key.startswith(f"announcement:{expected_id}:")
    # The configured server (the emulator's, the first allowed one) gets it.
    assert job.group == f"announcements:{stack.discord.guild_id}"
    assert job.context is None
    assert job.payload == {
        "announcement_id": expected_id,
        "server": stack.discord.guild_id,
        "channel_id": stack.discord.channel_ids["general"],
        "title": "Version 1.5 is out",
        "text": "Raids, and a new map.",
        "url": "https://example.com/blog/1-5",
        "image_url": "https://example.com/1-5.png",
        "role_id": None,
        "source": "webhook",
        "author_id": None,
    }


def test_a_replay_queues_nothing_new_and_a_reused_key_names_the_same_announcement(
    quiet_stack: LocalStack,
) -> None:
    stack = quiet_stack
    document = {"title": "Maintenance", "text": "Tonight at 22:00 UTC.", "idempotency_key": "e2e-maint"}
    sent_at = int(time.time())
    first = post(stack, document, timestamp=str(sent_at))
    replayed = post(stack, document, timestamp=str(sent_at))  # the very same signed request
    reused = post(stack, {**document, "text": "Moved to 23:00 UTC."}, timestamp=str(sent_at + 1))
    assert first.status_code == replayed.status_code == reused.status_code == 202
    assert first.json() == replayed.json() == reused.json()
    # SQS FIFO deduplicates the replay on its job key. The new request reusing the key is a new
    # delivery of the same announcement: the poster finds it posted and posts nothing new
    # (tests/e2e/test_announcements.py posts both through the worker).
    first_job, reused_job = _drain(stack)
    assert first_job.payload["text"] == "Tonight at 22:00 UTC."
    assert first_job.payload["channel_id"] is None  # the server's announcements channel
    assert reused_job.payload["announcement_id"] == first_job.payload["announcement_id"]
    assert reused_job.key != first_job.key


@pytest.mark.parametrize(
    ("secret", "age", "status"),
    [
        ("not-the-secret", 0, 401),
        (ANNOUNCEMENTS_WEBHOOK_SECRET, 301, 401),
        (ANNOUNCEMENTS_WEBHOOK_SECRET, -301, 401),
    ],
)
def test_forged_and_stale_requests_are_refused_and_queue_nothing(
    quiet_stack: LocalStack, secret: str, age: int, status: int
) -> None:
    document = {"title": "Forged", "text": "x", "idempotency_key": f"e2e-forged-{secret}-{age}"}
    response = post(quiet_stack, document, secret=secret, age=age)
    assert response.status_code == status
    assert response.json() == {"error": "invalid or expired signature"}
    assert _drain(quiet_stack) == []


def test_a_bad_field_is_a_400_naming_it(quiet_stack: LocalStack) -> None:
    response = post(
        quiet_stack, {"title": "x", "text": "y", "url": "http://example.com", "idempotency_key": "k"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "url"
    assert _drain(quiet_stack) == []


def test_the_devstack_command_signs_and_sends(
    quiet_stack: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import devstack.__main__ as cli

    state = tmp_path / "stack.json"
    state.write_text(json.dumps(quiet_stack.describe()))
    monkeypatch.setattr(cli, "STATE_FILE", state)
    assert cli.main(["webhook", "--title", "From the CLI", "--text", "Hello", "--key", "e2e-cli"]) == 0
    # In one process the handler's EMF metrics share stdout: the command's line is the last.
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == f'202 {{"announcement_id":"{announcement_id("e2e-cli")}"}}'
    (job,) = _drain(quiet_stack)
    assert (job.payload["title"], job.payload["text"]) == ("From the CLI", "Hello")
    # A wrong secret: the command prints the refusal and fails.
    assert cli.main(["webhook", "--title", "t", "--text", "x", "--secret", "wrong"]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("401 ")
    assert _drain(quiet_stack) == []
