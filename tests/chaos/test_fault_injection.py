"""The local stack's fault injection, which the chaos run (scripts/chaos.py) is built on: Discord's
rate-limit answers, answers held past a client's timeout, Twilio webhooks delivered several
times, SQS FIFO order under concurrent receives, and the poller's simulated crash."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests

from devstack.discord_emulator import DiscordEmulator
from devstack.moto_server import MotoOnLoopback
from devstack.poller import SqsPoller
from devstack.twilio_emulator import TwilioEmulator


@pytest.fixture
def discord() -> Iterator[DiscordEmulator]:
    with DiscordEmulator() as emulator:
        yield emulator


def post_message(discord: DiscordEmulator, content: str, timeout: float = 5.0) -> requests.Response:
    return requests.post(
        f"{discord.api_base_url}/channels/{discord.channel_ids['general']}/messages",
        json={"content": content},
        headers={"Authorization": f"Bot {discord.bot_token}"},
        timeout=timeout,
    )


def test_an_injected_global_429_is_worded_as_discord_words_it(discord: DiscordEmulator) -> None:
    discord.inject_fault("POST", r"/messages$", 429, {"retry_after": 1.25, "global": True})
    response = post_message(discord, "hello")
    assert response.status_code == 429
    assert response.json() == {"message": "You are being rate limited.", "retry_after": 1.25, "global": True}
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-RateLimit-Global"] == "true"
    assert response.headers["X-RateLimit-Scope"] == "global"

    discord.inject_fault("POST", r"/messages$", 429, {"retry_after": 0.4, "global": False})
    response = post_message(discord, "hello")
    assert response.json()["global"] is False
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-RateLimit-Scope"] == "user"
    assert "X-RateLimit-Global" not in response.headers


def test_a_held_answer_times_the_client_out_but_the_write_happened(discord: DiscordEmulator) -> None:
    discord.inject_fault("POST", r"/messages$", 0, delay=1.0, hold=True)
    with pytest.raises(requests.ReadTimeout):
        post_message(discord, "written anyway", timeout=0.3)
    assert [m["content"] for m in discord.messages("general")] == ["written anyway"]

    # Held, then refused: never written.
    discord.inject_fault("POST", r"/messages$", 504, delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        post_message(discord, "never written", timeout=0.3)
    time.sleep(1.0)
    assert [m["content"] for m in discord.messages("general")] == ["written anyway"]


def test_a_fault_policy_decides_request_by_request(discord: DiscordEmulator) -> None:
    seen: list[str] = []

    def policy(request: Any) -> Any:
        seen.append(json.loads(request.body)["content"])
        return discord.make_fault(503) if b"fail me" in request.body else None

    discord.set_fault_policy(policy)
    assert post_message(discord, "fail me").status_code == 503
    assert post_message(discord, "fine").status_code == 200
    discord.clear_faults()  # scripted faults only: the policy stays
    assert post_message(discord, "fail me").status_code == 503
    discord.set_fault_policy(None)
    assert post_message(discord, "fail me").status_code == 200
    assert seen == ["fail me", "fine", "fail me"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        from urllib.parse import parse_qsl

        length = int(self.headers.get("Content-Length") or 0)
        params = dict(parse_qsl(self.rfile.read(length).decode()))
        params["token"] = self.headers.get("I-Twilio-Idempotency-Token", "")
        self.server.received.append(params)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_every_webhook_can_be_delivered_several_times() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with TwilioEmulator() as twilio:
            client = twilio.twilio_client()
            conversation = client.conversations.v1.conversations.create(friendly_name="chat")
            client.conversations.v1.conversations(conversation.sid).webhooks.create(
                target="webhook",
                configuration_url=f"http://127.0.0.1:{server.server_address[1]}/events",
                configuration_method="POST",
                configuration_filters=["onMessageAdded"],
            )
            twilio.webhook_copy_policy = lambda event_type, params: 3 if params.get("Body") == "thrice" else 1
            messages = client.conversations.v1.conversations(conversation.sid).messages
            messages.create(author="a", body="thrice", x_twilio_webhook_enabled="true")
            messages.create(author="a", body="once", x_twilio_webhook_enabled="true")
            assert twilio.wait_for_webhooks()
            received = server.received  # type: ignore[attr-defined]
            assert [p["Body"] for p in received] == ["thrice", "thrice", "thrice", "once"]
            assert len({p["token"] for p in received[:3]}) == 1
            assert [d.duplicate for d in twilio.webhook_deliveries] == [False, True, True, False]

            twilio.webhook_copy_policy = None
            twilio.webhook_copies = 2
            assert twilio.duplicate_deliveries
            messages.create(author="a", body="twice", x_twilio_webhook_enabled="true")
            assert twilio.wait_for_webhooks()
            assert [p["Body"] for p in received[4:]] == ["twice", "twice"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fifo_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }.items():
        monkeypatch.setenv(name, value)
    moto = MotoOnLoopback()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.start())
    try:
        sqs = boto3.client("sqs")
        yield sqs.create_queue(
            QueueName="chaos-test.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
        )["QueueUrl"]
    finally:
        moto.stop()


def send(queue_url: str, body: str) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=queue_url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body
    )


def test_a_fifo_group_with_a_message_in_flight_hands_out_nothing(fifo_queue: str) -> None:
    sqs = boto3.client("sqs")
    for body in ("m1", "m2"):
        sqs.send_message(
            QueueUrl=fifo_queue, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body
        )
    first, second = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]
    assert [first["Body"], second["Body"]] == ["m1", "m2"]
    # m1 comes back first while m2 is still in flight: the group still waits for m2.
    sqs.change_message_visibility(
        QueueUrl=fifo_queue, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    sqs.change_message_visibility(
        QueueUrl=fifo_queue, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=2
    )
    time.sleep(0.2)
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)
    time.sleep(2.0)
    again = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["m1", "m2"]
    # A repeat within five minutes is dropped, even once the first was deleted.
    for message in again:
        sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=message["ReceiptHandle"])
    send(fifo_queue, "m1")
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo_queue)


class _CrashOnce:
    def __init__(self) -> None:
        self.crashed = False

    def crash_after(self, messages: list[dict[str, Any]]) -> int | None:
        if self.crashed or len(messages) < 3:
            return None
        self.crashed = True
        return 1

    def expire_visibility(self, message: dict[str, Any]) -> bool:
        return False

    def lose_delete(self, message: dict[str, Any]) -> bool:
        return False


def test_a_crash_mid_batch_keeps_what_ran_and_brings_the_whole_batch_back(fifo_queue: str) -> None:
    sqs = boto3.client("sqs")
    for body in ("j1", "j2", "j3"):
        sqs.send_message(
            QueueUrl=fifo_queue, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body
        )
    runs: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append([record["body"] for record in event["Records"]])
        return {"batchItemFailures": []}

    poller = SqsPoller(
        queue_url=fifo_queue,
        queue_arn="arn:aws:sqs:us-east-1:000000000000:chaos-test.fifo",
        handler=handler,
        function_name="Worker",
        timeout_seconds=60,
        faults=_CrashOnce(),
        crash_visibility_seconds=1,
    )
    assert poller.poll_once(wait_seconds=0) == 3
    assert runs == [["j1"]]  # then the invocation died
    time.sleep(1.2)
    assert poller.poll_once(wait_seconds=0) == 3
    assert runs == [["j1"], ["j1", "j2", "j3"]]
    assert poller.stats.as_dict()["crashes"] == 1
    assert poller.stats.as_dict()["redelivered"] == 3
