"""Every sample event in events/ goes through the handler it is for, as `sam local invoke -e`
would hand it over, against moto and the Discord emulator (the stack signs with the published
test key, like the events)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from nacl.signing import VerifyKey

from devstack.lambda_runtime import LocalLambdaContext, load_handler
from devstack.stack import LocalStack
from devstack.template import function_spec, load_template
from flexcord.interactions.commands import COMMANDS
from scripts.events import EVENTS, MEMBER, SIGNED_AT, resign

EXPECTED_INTERACTION_TYPES = {
    "discord_ping": 1,
    "discord_bug_command": 9,
    "discord_new_feature_command": 9,
    "discord_mycases_command": 5,
    "discord_case_command": 5,
    "discord_case_update_command": 5,
    "discord_cases_command": 5,
    "discord_case_status_select": 5,
    "discord_case_me_too_button": 5,
    "discord_setup_command": 5,
    "discord_unknown_command": 4,
    "discord_bug_modal_submit": 5,
    "discord_feature_modal_submit": 5,
    "discord_show_case_button": 5,
    "discord_helpme_command": 5,
    "discord_reply_command": 5,
    "discord_agent_command": 5,
    "discord_endchat_command": 5,
    "discord_reply_button": 9,
    "discord_reply_modal_submit": 5,
    "discord_talk_to_human_button": 5,
    "discord_end_chat_button": 4,
    "discord_end_chat_confirm_button": 6,
    "discord_end_chat_cancel_button": 7,
}
SQS_EVENTS = [
    "sqs_create_case",
    "sqs_case_queries",
    "sqs_chat_jobs",
    "sqs_conversation_event",
    "sqs_announcement_jobs",
]


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(use_published_test_key=True) as running:
        assert running.discord is not None
        # The user the sample events speak for.
        running.discord.add_user("sample-alice", user_id=MEMBER["user"]["id"])
        yield running


def wait_for_empty_queue(stack: LocalStack, timeout: float = 30.0) -> None:
    import time

    import boto3

    assert stack.resources is not None
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(
            QueueUrl=stack.resources.job_queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if all(value == "0" for value in counts.values()):
            return
        time.sleep(0.2)
    raise AssertionError("the job queue did not drain")


def handler_for(function_id: str) -> Any:
    spec = function_spec(load_template(), function_id)
    return load_handler(spec.handler_file, spec.handler_name, f"events_{function_id}"), spec


def invoke(function_id: str, event: dict[str, Any]) -> Any:
    handler, spec = handler_for(function_id)
    return handler(event, LocalLambdaContext(function_name=function_id, timeout_seconds=spec.timeout_seconds))


def test_every_event_file_is_covered() -> None:
    names = {path.stem for path in EVENTS.glob("*.json")} - {"env", "test-signing-key"}
    covered = set(EXPECTED_INTERACTION_TYPES) | set(SQS_EVENTS)
    covered |= {"twilio_conversation_message_added", "twilio_chatbot_request"}
    covered |= {"cfn_commands_create", "cfn_commands_update", "cfn_commands_delete"}
    covered |= {"eventbridge_scheduler_tick"}
    assert names == covered


def test_the_scheduled_event_through_the_scheduler_function(stack: LocalStack) -> None:
    # The minute in the event is what the scheduler acts on: nothing is due at a sample's time.
    result = invoke("SchedulerFunction", load_event("eventbridge_scheduler_tick"))
    assert result == {"now": 1_796_320_800, "announcements_queued": 0, "feed_polls_queued": 0}


@pytest.mark.parametrize("name", sorted(EXPECTED_INTERACTION_TYPES))
def test_discord_events_are_signed_with_the_published_key(name: str) -> None:
    event = load_event(name)
    keys = json.loads((EVENTS / "test-signing-key.json").read_text())
    headers = event["headers"]
    assert headers["x-signature-timestamp"] == str(SIGNED_AT)
    VerifyKey(bytes.fromhex(keys["public_key_hex"])).verify(
        headers["x-signature-timestamp"].encode() + event["body"].encode(),
        bytes.fromhex(headers["x-signature-ed25519"]),
    )
    env = json.loads((EVENTS / "env.json").read_text())
    assert env["Parameters"]["DISCORD_PUBLIC_KEY"] == keys["public_key_hex"]


@pytest.mark.parametrize("name", sorted(EXPECTED_INTERACTION_TYPES))
def test_discord_events_through_the_interactions_handler(stack: LocalStack, name: str) -> None:
    event = load_event(name)
    # Committed signatures are old: the endpoint refuses them until re-signed.
    assert invoke("InteractionsFunction", event)["statusCode"] == 401
    result = invoke("InteractionsFunction", resign(event))
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["type"] == EXPECTED_INTERACTION_TYPES[name]


@pytest.mark.parametrize("name", SQS_EVENTS)
def test_sqs_events_through_the_worker(stack: LocalStack, name: str) -> None:
    # The Discord events above queued jobs for the same member; let the poller finish them, so
    # these hand-delivered batches do not race it (SQS would keep one member's jobs in order).
    wait_for_empty_queue(stack)
    assert invoke("WorkerFunction", load_event(name)) == {"batchItemFailures": []}
    # The sample tokens are not live interactions, so the answers went to the member's DM.
    assert stack.discord is not None
    dm = stack.discord.messages(stack.discord.dm_channel_id("sample-alice"))
    assert dm


def test_the_twilio_event_through_the_conversation_events_handler(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flexcord.config import reset_cached_settings

    # The sample is signed for the URL in events/env.json.
    env = json.loads((EVENTS / "env.json").read_text())["Parameters"]
    monkeypatch.setenv("PUBLIC_BASE_URL", env["PUBLIC_BASE_URL"])
    reset_cached_settings()
    try:
        event = load_event("twilio_conversation_message_added")
        assert invoke("ConversationEventsFunction", event)["statusCode"] == 200
        tampered = {**event, "body": event["body"].replace("Alex", "Mallory")}
        assert invoke("ConversationEventsFunction", tampered)["statusCode"] == 403
        chatbot = load_event("twilio_chatbot_request")
        answered = invoke("ChatbotFunction", chatbot)
        # The sample's conversation has no session here: the assistant stays out.
        assert (answered["statusCode"], json.loads(answered["body"])["handoff"]) == (200, False)
        tampered = {**chatbot, "body": chatbot["body"].replace("raid", "gym")}
        assert invoke("ChatbotFunction", tampered)["statusCode"] == 403
    finally:
        monkeypatch.undo()
        reset_cached_settings()


@pytest.mark.parametrize(
    ("name", "expected_commands"),
    [
        ("cfn_commands_create", len(COMMANDS)),
        ("cfn_commands_update", len(COMMANDS)),
        ("cfn_commands_delete", 0),
    ],
)
def test_custom_resource_events_through_the_commands_function(
    stack: LocalStack, name: str, expected_commands: int
) -> None:
    assert stack.discord is not None
    assert stack.gateway is not None
    event = load_event(name)
    # The sample ids are placeholders: aim the event at the emulator's application and guild,
    # and at the local sink that stands in for CloudFormation's pre-signed response URL.
    event["ResponseURL"] = f"{stack.gateway.base_url}/_cloudformation/response"
    event["ResourceProperties"].update(
        ApplicationId=stack.discord.application_id, GuildId=stack.discord.guild_id
    )
    response = invoke("CommandsFunction", event)
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert stack.cloudformation_responses[-1] == response
    assert len(stack.discord.commands(guild=True)) == expected_commands


def test_env_file_sets_every_variable_the_template_gives_the_functions() -> None:
    template = load_template()
    env = json.loads((EVENTS / "env.json").read_text())["Parameters"]
    for function_id in ("InteractionsFunction", "WorkerFunction", "CommandsFunction", "SchedulerFunction"):
        variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        for name in variables:
            if not name.startswith("POWERTOOLS_"):
                assert name in env, (function_id, name)
    # Secrets come from Secrets Manager (moto's, locally), never as plain variables.
    assert not any(name == "DISCORD_BOT_TOKEN" for name in env)
