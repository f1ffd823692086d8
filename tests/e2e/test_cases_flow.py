"""Bug reports and feature requests end to end: the Discord emulator sends signed interactions to
the local gateway, InteractionsFunction answers and enqueues to SQS FIFO on moto, the poller feeds
WorkerFunction, which writes DynamoDB and posts through the Discord REST API."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import requests

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from tests.e2e.conftest import final_reply, stored_case
from tests.support.spec import spec_operation_exists

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(60))
BUG_VALUES = {
    "title": "Raid lobby freezes after the countdown",
    "what_happened": "The lobby froze at 0 seconds.",
    "steps": "1. Join a raid\n2. Wait",
    "expected_actual": "Expected the battle; got a frozen screen.",
}


def case_number(reply: dict[str, Any]) -> int:
    content = reply["content"]
    return int(content.split("case #", 1)[1].split("*", 1)[0])


def posts_in(discord: DiscordEmulator, channel: str) -> list[dict[str, Any]]:
    return discord.messages(discord.channel_ids[channel])


def file_bug(discord: DiscordEmulator, user: str = "alice", **values: str) -> tuple[Any, dict[str, Any]]:
    opened = discord.run_command(user, "bug")
    assert opened.modal is not None, opened.error
    submitted = discord.submit_modal(user, opened.modal, {**BUG_VALUES, **values})
    assert submitted.response == {"type": 5, "data": {"flags": 64}}
    return submitted, final_reply(discord, submitted.token)


def assert_requests_follow_the_spec(discord: DiscordEmulator) -> None:
    api_requests = [r for r in discord.requests if r.path.startswith("/api/")]
    assert api_requests
    for request in api_requests:
        assert spec_operation_exists(request.method, request.path), (request.method, request.path)
        # The emulator enforces Discord's limits (lengths, counts, embed totals) with a 400.
        assert request.status < 400, (request.method, request.path, request.status, request.body)
    for write in discord.message_writes:
        assert write.allowed_mentions_sent, write
        assert write.allowed_mentions == {"parse": []}, write


def test_the_endpoint_passes_discords_own_checks(discord: DiscordEmulator) -> None:
    # A signed PING gets {"type": 1}; unsigned and forged requests get 401.
    assert discord.ping().json() == {"type": 1}
    assert discord.check_endpoint() == []


def test_stale_future_and_missing_signatures_get_401_and_malformed_json_400(discord: DiscordEmulator) -> None:
    body = json.dumps({"type": 1}).encode()
    now = int(time.time())
    # Far outside the window: its exact edges (±300 s) are tested on an injected clock in
    # tests/unit/test_interactions_endpoint.py, where a second's drift cannot flip the result.
    for stamp in (now - 3600, now + 3600):
        assert discord.send_raw(body, discord.sign(body, timestamp=str(stamp))).status_code == 401
    headers = discord.sign(body)
    del headers["X-Signature-Timestamp"]
    assert discord.send_raw(body, headers).status_code == 401
    garbage = b'{"type": 2, "data": '
    response = discord.send_raw(garbage, discord.sign(garbage))
    assert response.status_code == 400
    assert response.json() == {"error": "malformed interaction"}


def test_a_bug_report_becomes_a_numbered_case_posted_with_its_screenshot(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    opened = discord.run_command("alice", "bug")
    assert opened.modal is not None
    assert opened.modal["custom_id"] == "case:bug"
    before = len(posts_in(discord, "bug-report"))
    submitted = discord.submit_modal(
        "alice", opened.modal, BUG_VALUES, files={"screenshot": [("raid.png", PNG, "image/png")]}
    )
    reply = final_reply(discord, submitted.token)
    number = case_number(reply)
    assert reply["flags"] & 64  # only alice sees it
    assert f"/case show number:{number}" in reply["content"]

    posts = posts_in(discord, "bug-report")
    assert len(posts) == before + 1
    post = posts[-1]
    [embed] = post["embeds"]
    assert embed["title"] == f"🐞 Bug report #{number}: {BUG_VALUES['title']}"
    assert "The lobby froze at 0 seconds." in embed["description"]
    # The screenshot was copied into the post, so it outlives the member's expiring CDN link.
    [attachment] = post["attachments"]
    assert attachment["filename"] == f"case-{number}-1.png"
    assert embed["image"]["url"] == attachment["url"]
    assert requests.get(attachment["url"], timeout=5).content == PNG

    case = stored_case(stack, number)
    assert case["status"] == "open"
    assert case["kind"] == "bug"
    assert case["reporter"]["username"] == "alice"
    assert case["post"] == {"channel_id": discord.channel_ids["bug-report"], "message_id": post["id"]}
    # Discord re-signs CDN links each time a message is read: the attachment is the same path.
    assert case["attachments"][0]["kept_url"].split("?")[0] == attachment["url"].split("?")[0]
    assert [event["action"] for event in case["history"]] == ["opened", "posted"]
    assert case["created_at"]
    assert_requests_follow_the_spec(discord)


def test_a_feature_request_lands_in_its_own_channel(discord: DiscordEmulator) -> None:
    opened = discord.run_command("bob", "new_feature")
    assert opened.modal is not None
    submitted = discord.submit_modal(
        "bob",
        opened.modal,
        {"title": "Trade history", "problem": "I forget trades.", "proposal": "A history screen."},
    )
    number = case_number(final_reply(discord, submitted.token))
    [embed] = posts_in(discord, "feature-request")[-1]["embeds"]
    assert embed["title"] == f"💡 Feature request #{number}: Trade history"


def test_the_same_interaction_delivered_twice_files_one_case_and_one_post(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    opened = discord.run_command("alice", "bug")
    assert opened.modal is not None
    first = discord.submit_modal("alice", opened.modal, {**BUG_VALUES, "title": "Delivered twice"})
    number = case_number(final_reply(discord, first.token))
    body = json.dumps(first.interaction).encode()
    again = discord.send_raw(body, discord.sign(body))
    assert again.json() == {"type": 5, "data": {"flags": 64}}
    time.sleep(2.5)  # give a duplicate job every chance to run
    titles = [p["embeds"][0]["title"] for p in posts_in(discord, "bug-report")]
    assert sum("Delivered twice" in title for title in titles) == 1
    assert stored_case(stack, number)["title"] == "Delivered twice"
    assert _cases_titled(stack, "Delivered twice") == 1


def test_the_same_sqs_message_delivered_twice_files_one_case_and_one_post(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    assert stack.poller is not None
    stack.poller.stop()  # deliver by hand, as SQS would on an at-least-once redelivery
    try:
        opened = discord.run_command("alice", "bug")
        assert opened.modal is not None
        submitted = discord.submit_modal("alice", opened.modal, {**BUG_VALUES, "title": "Redelivered"})
        assert stack.resources is not None
        [record] = _receive_records(stack, 1)
        from devstack.lambda_runtime import LocalLambdaContext

        for _ in range(2):
            result = stack.worker_handler({"Records": [record]}, LocalLambdaContext("WorkerFunction", 30))
            assert result == {"batchItemFailures": []}
        boto3.client("sqs").delete_message(
            QueueUrl=stack.resources.job_queue_url, ReceiptHandle=record["receiptHandle"]
        )
        reply = final_reply(discord, submitted.token)
        assert "case #" in reply["content"]
        titles = [p["embeds"][0]["title"] for p in posts_in(discord, "bug-report")]
        assert sum("Redelivered" in title for title in titles) == 1
        assert _cases_titled(stack, "Redelivered") == 1
    finally:
        stack.poller = _restart_poller(stack)


def test_members_see_their_cases_staff_see_all_others_are_refused(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    _, reply = file_bug(discord, "alice", title="Only alice and staff")
    number = case_number(reply)

    listed = discord.run_command("alice", "mycases")
    listing = final_reply(discord, listed.token)
    assert f"**#{number}**" in listing["content"]
    assert listing["flags"] & 64
    show_button = f"case:show:{discord.guild_id}:{number}"
    assert {"custom_id": show_button}.items() <= listing["components"][0]["components"][0].items()

    shown = final_reply(discord, discord.run_command("alice", "case", {"show": {"number": number}}).token)
    assert shown["embeds"][0]["title"].endswith("Only alice and staff")
    assert "History" in [field["name"] for field in shown["embeds"][0]["fields"]]

    refused = final_reply(discord, discord.run_command("bob", "case", {"show": {"number": number}}).token)
    assert refused["content"].startswith(f"Case #{number} isn't one of yours")
    assert not refused.get("embeds")

    staff = final_reply(discord, discord.run_command("mod", "case", {"show": {"number": number}}).token)
    assert staff["embeds"][0]["title"].endswith("Only alice and staff")

    pressed = discord.click("alice", listing, show_button)
    assert final_reply(discord, pressed.token)["embeds"][0]["title"].endswith("Only alice and staff")

    # bob tampers with a button on his own listing so that it carries alice's case number: the
    # custom_id says what was asked, never who may see it.
    _, bobs_reply = file_bug(discord, "bob", title="Bob's own")
    bobs_listing = final_reply(discord, discord.run_command("bob", "mycases").token)
    own = discord.click("bob", bobs_listing, f"case:show:{discord.guild_id}:{case_number(bobs_reply)}")
    assert final_reply(discord, own.token)["embeds"][0]["title"].endswith("Bob's own")
    forged = {**own.interaction, "id": str(int(own.interaction["id"]) + 1)}
    forged["data"] = {**forged["data"], "custom_id": f"case:show:{discord.guild_id}:{number}"}
    body = json.dumps(forged).encode()
    assert discord.send_raw(body, discord.sign(body)).json()["type"] == 5
    refusal = discord.wait_for(
        lambda: "isn't one of yours" in (discord.original_response(own.token) or {}).get("content", ""),
        timeout=15,
    )
    assert refusal
    assert "Only alice and staff" not in json.dumps(discord.original_response(own.token))

    missing = final_reply(discord, discord.run_command("alice", "case", {"show": {"number": 99999}}).token)
    assert missing["content"] == "There is no case #99999."
    assert_requests_follow_the_spec(discord)


def test_a_member_without_cases_is_told_how_to_open_one(discord: DiscordEmulator) -> None:
    discord.add_user("carol")
    reply = final_reply(discord, discord.run_command("carol", "mycases").token)
    assert reply["content"].startswith("You haven't opened any cases yet.")


def test_an_unknown_command_gets_an_ephemeral_explanation(discord: DiscordEmulator) -> None:
    result = discord.run_command("alice", "dance")
    assert result.response is not None
    assert result.response["type"] == 4
    assert result.response["data"]["flags"] == 64
    assert "/dance" in result.response["data"]["content"]


def test_a_job_that_keeps_failing_is_dead_lettered_and_the_member_told(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    assert stack.resources is not None
    channel = discord.channel_ids["bug-report"]
    # Discord is down for posts: every attempt ends in 5xx after the client's own retries.
    discord.inject_fault(
        "POST", f"/api/v10/channels/{channel}/messages", 503, {"message": "upstream"}, times=500
    )
    opened = discord.run_command("alice", "bug")
    assert opened.modal is not None
    submitted = discord.submit_modal("alice", opened.modal, {**BUG_VALUES, "title": "Doomed"})
    reply = final_reply(discord, submitted.token, timeout=30)
    assert reply["content"].startswith("⚠️ Sorry, Flexcord couldn't finish filing your report")
    sqs = boto3.client("sqs")
    dead = discord.wait_for(
        lambda: sqs.receive_message(QueueUrl=stack.resources.dead_letter_queue_url, WaitTimeSeconds=1).get(
            "Messages"
        ),
        timeout=20,
    )
    assert json.loads(dead[0]["Body"])["context"]["interaction_id"] == submitted.interaction["id"]
    discord.clear_faults()
    assert all("Doomed" not in p["embeds"][0]["title"] for p in posts_in(discord, "bug-report"))


def test_on_the_last_delivery_a_job_skipped_behind_a_failed_one_is_reported_too(stack: LocalStack) -> None:
    """The last delivery of a job is its notice: not run, the member told, then the dead-letter
    queue. A member's later job, skipped behind it, is told about too; another member's job
    runs as usual."""
    discord = stack.discord
    assert discord is not None
    assert stack.poller is not None
    assert stack.resources is not None
    stack.poller.stop()
    try:
        opened = discord.run_command("alice", "bug")
        assert opened.modal is not None
        failing = discord.submit_modal("alice", opened.modal, {**BUG_VALUES, "title": "Fails"})
        skipped = discord.run_command("alice", "mycases")  # queued behind the failing job
        other = discord.run_command("bob", "mycases")  # another member: not held up
        records = _receive_records(stack, 3)
        by_interaction = {json.loads(r["body"])["context"]["interaction_id"]: r for r in records}
        for interaction in (failing, skipped):
            by_interaction[interaction.interaction["id"]]["attributes"]["ApproximateReceiveCount"] = str(
                stack.resources.max_receive_count
            )
        from devstack.lambda_runtime import LocalLambdaContext

        result = stack.worker_handler({"Records": records}, LocalLambdaContext("WorkerFunction", 60))
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        assert failed == {
            by_interaction[failing.interaction["id"]]["messageId"],
            by_interaction[skipped.interaction["id"]]["messageId"],
        }
        for token in (failing.token, skipped.token):
            assert final_reply(discord, token)["content"].startswith("⚠️ Sorry, Flexcord couldn't")
        assert "cases" in final_reply(discord, other.token)["content"]
        assert _cases_titled(stack, "Fails") == 0  # given up, not run
    finally:
        _drain(stack)
        stack.poller = _restart_poller(stack)


def test_a_post_discord_refuses_still_files_the_case_and_records_it(stack: LocalStack) -> None:
    discord = stack.discord
    assert discord is not None
    channel = discord.channel_ids["bug-report"]
    # The bot lost access to #bug-report: retrying cannot help, so the job does not fail.
    discord.inject_fault(
        "POST", f"/api/v10/channels/{channel}/messages", 403, {"code": 50001, "message": "Missing Access"}
    )
    _, reply = file_bug(discord, "alice", title="Posted nowhere")
    number = case_number(reply)
    case = stored_case(stack, number)
    assert case["post"] is None
    assert [event["action"] for event in case["history"]] == ["opened", "post_failed"]
    assert case["history"][-1]["note"] == "Discord error 50001"


def _receive_records(stack: LocalStack, count: int) -> list[dict[str, Any]]:
    assert stack.resources is not None
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(messages) < count and time.monotonic() < deadline:
        messages += sqs.receive_message(
            QueueUrl=stack.resources.job_queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
    assert len(messages) == count
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": stack.resources.job_queue_arn,
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]


def _drain(stack: LocalStack) -> None:
    assert stack.resources is not None
    boto3.client("sqs").purge_queue(QueueUrl=stack.resources.job_queue_url)


def _cases_titled(stack: LocalStack, title: str) -> int:
    assert stack.resources is not None
    items = boto3.client("dynamodb").scan(TableName=stack.resources.table_name)["Items"]
    return sum(1 for item in items if item.get("sk", {}).get("S") == "CASE" and item["title"]["S"] == title)


def _restart_poller(stack: LocalStack) -> Any:
    from devstack.poller import SqsPoller

    assert stack.resources is not None
    poller = SqsPoller(
        queue_url=stack.resources.job_queue_url,
        queue_arn=stack.resources.job_queue_arn,
        handler=stack.worker_handler,
        function_name="WorkerFunction",
        timeout_seconds=30,
    )
    poller.start()
    return poller
