"""Every AWS action the functions perform in the local stack is granted by their policies in
template.yaml. moto does not enforce IAM; the suite records each function's calls
(devstack/aws_calls.py) and this test drives every function that touches AWS on its own, so it
stands alone, then checks all that was recorded so far (the whole run is checked again at its end
by tests/conftest.py)."""

from __future__ import annotations

import json
import time

import requests

from devstack.aws_calls import RECORDER, granted_actions, policy_violations
from devstack.discord_emulator import DiscordEmulator
from devstack.stack import ANNOUNCEMENTS_WEBHOOK_SECRET, LocalStack
from devstack.template import load_template
from flexcord.announcements.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.e2e.conftest import final_reply, wait_until


def test_each_functions_aws_actions_are_allowed_by_its_policy(
    stack: LocalStack, discord: DiscordEmulator
) -> None:
    assert stack.sample_feeds is not None
    assert stack.gateway is not None
    channel = discord.create_channel(discord.guild_id, "iam-feed")["id"]
    # InteractionsFunction queues; the worker reads and writes the table, sends the feed's posts.
    added = discord.run_command(
        "mod", "feeds", {"add": {"url": stack.sample_feeds.url("blog"), "channel": channel, "backfill": 1}}
    )
    assert final_reply(discord, added.token)["content"].startswith("✅ Following")
    # SchedulerFunction reads what is due and queues the polls.
    stack.advance_clock(2 * 3600)
    wait_until(lambda: len([m for m in discord.messages(channel) if m.get("embeds")]) >= 2)
    # AnnouncementsWebhookFunction reads its secret and queues.
    body = json.dumps({"title": "IAM", "text": "checked", "idempotency_key": "iam-1"}).encode()
    timestamp = str(int(time.time()))
    answer = requests.post(
        f"{stack.gateway.base_url}/announcements/webhook",
        data=body,
        headers={
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(ANNOUNCEMENTS_WEBHOOK_SECRET, timestamp, body),
        },
        timeout=10,
    )
    assert answer.status_code == 202

    seen = set(RECORDER.actions)
    assert {"CommandsFunction", "InteractionsFunction", "WorkerFunction", "SchedulerFunction"} <= seen
    assert "AnnouncementsWebhookFunction" in seen
    assert "sqs:SendMessage" in RECORDER.actions["WorkerFunction"]  # the feed's posts
    assert "dynamodb:BatchGetItem" in RECORDER.actions["WorkerFunction"]  # its seen entries
    assert policy_violations(load_template()) == {}


def test_a_missing_grant_is_caught() -> None:
    """The check itself: an action no policy grants is reported against the function."""
    template = load_template()
    assert "dynamodb:Scan" not in granted_actions(template, "SchedulerFunction")
    RECORDER.actions["SchedulerFunction"].add("dynamodb:Scan")
    try:
        assert policy_violations(template)["SchedulerFunction"] == {"dynamodb:Scan"}
    finally:
        RECORDER.actions["SchedulerFunction"].discard("dynamodb:Scan")
