"""Writes the sample events in events/, and re-signs an event with the current time.

    python scripts/events.py generate          # rewrite every sample event (deterministic)
    python scripts/events.py resign FILE       # print FILE signed now, for sam local invoke

Discord events are signed with the published test key (events/test-signing-key.json). The
endpoint refuses signatures older than five minutes, so a committed event must be re-signed
before it is invoked: `python scripts/events.py resign events/discord_ping.json > /tmp/e.json`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "flexcord"))
from flexcord.jobs.model import InteractionContext, Job, JobKind

EVENTS = Path(__file__).resolve().parent.parent / "events"
KEYS = json.loads((EVENTS / "test-signing-key.json").read_text())
SIGNING_KEY = SigningKey(bytes.fromhex(KEYS["private_key_seed_hex"]))
SIGNED_AT = 1_790_000_000  # the committed events' timestamp; re-sign before invoking

APPLICATION_ID = "1310000000000000000"
GUILD_ID = "1310000000000000001"
CHANNEL_ID = "1310000000000000002"
DM_CHANNEL_ID = "1310000000000000003"
PUBLIC_BASE_URL = "http://127.0.0.1:8787"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000001"
TWILIO_TEST_AUTH_TOKEN = KEYS["twilio_test_auth_token"]
MEMBER: dict[str, Any] = {
    "user": {"id": "1310000000000000100", "username": "alice", "global_name": "Alice", "discriminator": "0"},
    "roles": [],
    "nick": None,
    "joined_at": "2026-01-01T00:00:00+00:00",
    "permissions": "2248473465835073",
}


def interaction(kind: int, data: dict[str, Any], *, number: int) -> dict[str, Any]:
    return {
        "id": f"13200000000000000{number:02d}",
        "application_id": APPLICATION_ID,
        "type": kind,
        "data": data,
        "guild_id": GUILD_ID,
        "channel_id": CHANNEL_ID,
        "channel": {"id": CHANNEL_ID, "type": 0, "name": "general"},
        "member": MEMBER,
        "token": f"sample-interaction-token-{number:02d}",
        "version": 1,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 10485760,
    }


def http_event(payload: dict[str, Any], *, timestamp: int = SIGNED_AT) -> dict[str, Any]:
    body = json.dumps(payload, separators=(",", ":"))
    signature = SIGNING_KEY.sign(str(timestamp).encode() + body.encode()).signature.hex()
    return {
        "version": "2.0",
        "routeKey": "POST /discord/interactions",
        "rawPath": "/discord/interactions",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
            "x-signature-ed25519": signature,
            "x-signature-timestamp": str(timestamp),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "sample",
            "domainName": "sample.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": "/discord/interactions",
                "protocol": "HTTP/1.1",
                "sourceIp": "162.159.128.1",
            },
            "requestId": "sample-request",
            "routeKey": "POST /discord/interactions",
            "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000",
            "timeEpoch": timestamp * 1000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def text_value(custom_id: str, value: str, index: int) -> dict[str, Any]:
    return {
        "type": 18,
        "id": index,
        "component": {"type": 4, "id": index + 100, "custom_id": custom_id, "value": value},
    }


def discord_events() -> dict[str, dict[str, Any]]:
    bug_fields = {
        "title": "Raid lobby freezes after the countdown",
        "what_happened": "The lobby froze at 0 seconds and I lost my raid pass.",
        "steps": "1. Join a 5-star raid\n2. Wait for the countdown\n3. Watch it freeze",
        "expected_actual": "Expected the battle to start; the screen froze instead.",
    }
    feature_fields = {
        "title": "Trade history for the last 30 days",
        "problem": "I can't check what I traded last week.",
        "proposal": "A history screen listing each trade with the date and the friend.",
    }
    screenshot_id = "1330000000000000001"
    bug_submit = {
        "custom_id": "case:bug",
        "components": [
            *(text_value(key, value, i) for i, (key, value) in enumerate(bug_fields.items(), start=1)),
            {
                "type": 18,
                "id": 5,
                "component": {"type": 19, "id": 105, "custom_id": "screenshot", "values": [screenshot_id]},
            },
        ],
        "resolved": {
            "attachments": {
                screenshot_id: {
                    "id": screenshot_id,
                    "filename": "raid.png",
                    "size": 68,
                    "content_type": "image/png",
                    "url": f"https://cdn.discordapp.com/ephemeral-attachments/{CHANNEL_ID}/{screenshot_id}/raid.png?ex=0&is=0&hm=0",
                    "proxy_url": "https://media.discordapp.net/ephemeral-attachments/raid.png",
                    "ephemeral": True,
                }
            }
        },
    }
    return {
        "discord_ping": {
            "id": "1320000000000000000",
            "application_id": APPLICATION_ID,
            "type": 1,
            "version": 1,
        },
        "discord_bug_command": interaction(
            2, {"id": "1340000000000000001", "name": "bug", "type": 1}, number=1
        ),
        "discord_new_feature_command": interaction(
            2, {"id": "1340000000000000002", "name": "new_feature", "type": 1}, number=2
        ),
        "discord_mycases_command": interaction(
            2, {"id": "1340000000000000003", "name": "mycases", "type": 1}, number=3
        ),
        "discord_case_command": interaction(
            2,
            {
                "id": "1340000000000000004",
                "name": "case",
                "type": 1,
                "options": [
                    {"type": 1, "name": "show", "options": [{"name": "number", "type": 4, "value": 1}]}
                ],
            },
            number=4,
        ),
        # Staff: /case update number:1 status:resolved note:"fixed in 1.4.2" (the worker checks the role).
        "discord_case_update_command": interaction(
            2,
            {
                "id": "1340000000000000004",
                "name": "case",
                "type": 1,
                "options": [
                    {
                        "type": 1,
                        "name": "update",
                        "options": [
                            {"name": "number", "type": 4, "value": 1},
                            {"name": "status", "type": 3, "value": "resolved"},
                            {"name": "note", "type": 3, "value": "fixed in 1.4.2"},
                        ],
                    }
                ],
            },
            number=10,
        ),
        "discord_cases_command": interaction(
            2,
            {
                "id": "1340000000000000010",
                "name": "cases",
                "type": 1,
                "options": [
                    {"name": "kind", "type": 3, "value": "feature"},
                    {"name": "sort", "type": 3, "value": "support"},
                ],
            },
            number=11,
        ),
        "discord_case_status_select": interaction(
            3, {"custom_id": "case:status:1", "component_type": 3, "values": ["triaged"]}, number=12
        ),
        "discord_case_me_too_button": interaction(
            3, {"custom_id": "case:metoo:1", "component_type": 2}, number=13
        ),
        "discord_unknown_command": interaction(
            2, {"id": "1340000000000000009", "name": "dance", "type": 1}, number=9
        ),
        "discord_bug_modal_submit": interaction(5, bug_submit, number=5),
        "discord_feature_modal_submit": interaction(
            5,
            {
                "custom_id": "case:feature",
                "components": [
                    text_value(k, v, i) for i, (k, v) in enumerate(feature_fields.items(), start=1)
                ],
            },
            number=6,
        ),
        **chat_events(),
        "discord_show_case_button": interaction(
            3, {"custom_id": "case:show:1", "component_type": 2}, number=7
        ),
        # /setup from a member with Manage Server (the endpoint re-checks the signed permissions).
        "discord_setup_command": as_admin(
            interaction(2, {"id": "1340000000000000011", "name": "setup", "type": 1}, number=14)
        ),
    }


def as_admin(payload: dict[str, Any]) -> dict[str, Any]:
    """The same member, with Manage Server (bit 5) in their permissions."""
    permissions = str(int(MEMBER["permissions"]) | 1 << 5)
    return {**payload, "member": {**MEMBER, "permissions": permissions}}


def chat_events() -> dict[str, dict[str, Any]]:
    """The support chat's commands, buttons and form, sent from the member's DM with the bot."""

    def in_dm(kind: int, data: dict[str, Any], number: int) -> dict[str, Any]:
        payload = interaction(kind, data, number=number)
        payload.pop("member")
        payload.pop("guild_id")
        payload.pop("guild_locale")
        payload["user"] = MEMBER["user"]
        payload["channel_id"] = DM_CHANNEL_ID
        payload["channel"] = {"id": DM_CHANNEL_ID, "type": 1}
        payload["context"] = 1
        payload["authorizing_integration_owners"] = {"0": GUILD_ID}
        return payload

    def command(name: str, number: int, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": f"13400000000000000{number:02d}", "name": name, "type": 1}
        if options:
            data["options"] = options
        return in_dm(2, data, number)

    def button(custom_id: str, number: int) -> dict[str, Any]:
        return in_dm(3, {"custom_id": custom_id, "component_type": 2}, number)

    return {
        "discord_helpme_command": command(
            "helpme", 20, [{"name": "question", "type": 3, "value": "My pokéstop is missing"}]
        ),
        "discord_reply_command": command(
            "reply", 21, [{"name": "message", "type": 3, "value": "It was here yesterday"}]
        ),
        "discord_agent_command": command("agent", 22),
        "discord_endchat_command": command("endchat", 23),
        "discord_reply_button": button("chat:reply", 24),
        "discord_reply_modal_submit": in_dm(
            5,
            {"custom_id": "chat:reply", "components": [text_value("message", "Still missing today", 1)]},
            25,
        ),
        "discord_talk_to_human_button": button("chat:human", 26),
        "discord_end_chat_button": button("chat:end", 27),
        "discord_end_chat_confirm_button": button("chat:end:confirm", 28),
        "discord_end_chat_cancel_button": button("chat:end:cancel", 29),
    }


def twilio_events() -> dict[str, dict[str, Any]]:
    """Twilio's webhook as ConversationEventsFunction receives it, signed with the published test
    auth token for the URL in events/env.json (Twilio signatures carry no timestamp)."""
    # Imported here: the import-budget test and the benchmark build Discord events in a process
    # that must not have twilio loaded.
    from twilio.request_validator import RequestValidator

    url = f"{PUBLIC_BASE_URL}/twilio/conversation-events"
    params = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "ChatServiceSid": "IS00000000000000000000000000000001",
        "EventType": "onMessageAdded",
        "Source": "SDK",
        "ClientIdentity": "agent_alex",
        "RetryCount": "0",
        "ConversationSid": "CH00000000000000000000000000000001",
        "MessageSid": "IM00000000000000000000000000000001",
        "Index": "4",
        "DateCreated": "2026-11-21T10:00:00Z",
        "Author": "agent_alex",
        "Body": "Hi, I'm Alex from support. Let me look into it.",
        "ParticipantSid": "MB00000000000000000000000000000001",
        "Attributes": "{}",
    }
    body = urlencode(params)
    chatbot_body = json.dumps(
        {
            "conversation_sid": params["ConversationSid"],
            "message_sid": "IM00000000000000000000000000000003",
            "author": "member_5596a2bcd3369fd4dbc40da1",
            "body": "my raid pass disappeared",
            "attributes": "{}",
        }
    )
    chatbot_query = f"bodySHA256={hashlib.sha256(chatbot_body.encode()).hexdigest()}"
    chatbot_url = f"{PUBLIC_BASE_URL}/twilio/chatbot?{chatbot_query}"
    return {
        "twilio_chatbot_request": {
            "version": "2.0",
            "routeKey": "POST /twilio/chatbot",
            "rawPath": "/twilio/chatbot",
            "rawQueryString": chatbot_query,
            "queryStringParameters": {"bodySHA256": chatbot_query.split("=", 1)[1]},
            "headers": {
                "content-type": "application/json;charset=utf-8",
                "user-agent": "TwilioProxy/1.1",
                "i-twilio-idempotency-token": "00000000-0000-4000-8000-000000000002",
                "x-twilio-signature": RequestValidator(TWILIO_TEST_AUTH_TOKEN).compute_signature(
                    chatbot_url, {}
                ),
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "sample",
                "domainName": "127.0.0.1:8787",
                "http": {"method": "POST", "path": "/twilio/chatbot", "protocol": "HTTP/1.1"},
                "requestId": "sample-chatbot",
                "routeKey": "POST /twilio/chatbot",
                "stage": "$default",
            },
            "body": chatbot_body,
            "isBase64Encoded": False,
        },
        "twilio_conversation_message_added": {
            "version": "2.0",
            "routeKey": "POST /twilio/conversation-events",
            "rawPath": "/twilio/conversation-events",
            "rawQueryString": "",
            "headers": {
                "content-type": "application/x-www-form-urlencoded",
                "user-agent": "TwilioProxy/1.1",
                "i-twilio-idempotency-token": "00000000-0000-4000-8000-000000000001",
                "x-twilio-signature": RequestValidator(TWILIO_TEST_AUTH_TOKEN).compute_signature(url, params),
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "sample",
                "domainName": "127.0.0.1:8787",
                "http": {"method": "POST", "path": "/twilio/conversation-events", "protocol": "HTTP/1.1"},
                "requestId": "sample-twilio",
                "routeKey": "POST /twilio/conversation-events",
                "stage": "$default",
            },
            "body": body,
            "isBase64Encoded": False,
        },
    }


def job_context(number: int) -> dict[str, Any]:
    return {
        "interaction_id": f"13200000000000000{number:02d}",
        "application_id": APPLICATION_ID,
        "token": f"sample-interaction-token-{number:02d}",
        "user_id": MEMBER["user"]["id"],
        "username": "alice",
        "display_name": "Alice",
        "roles": [],
        "guild_id": GUILD_ID,
        "channel_id": CHANNEL_ID,
        "locale": "en-US",
    }


def interaction_job(kind: str, number: int, payload: dict[str, Any] | None = None) -> Job:
    """A job as the endpoint enqueues it (the real model, so the sample cannot drift from it)."""
    return Job.for_interaction(JobKind(kind), InteractionContext.from_dict(job_context(number)), payload)


def sqs_record(index: int, job: Job) -> dict[str, Any]:
    text = job.to_json()
    return {
        "messageId": f"0c8e7f55-0000-4000-8000-00000000000{index}",
        "receiptHandle": f"sample-receipt-{index}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(SIGNED_AT * 1000),
            "SequenceNumber": f"1880000000000000000{index}",
            "MessageGroupId": job.group,
            "SenderId": "AROAEXAMPLE:InteractionsFunction",
            "MessageDeduplicationId": job.key,
            "ApproximateFirstReceiveTimestamp": str(SIGNED_AT * 1000 + 5),
        },
        "messageAttributes": {},
        "md5OfBody": __import__("hashlib").md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:flexcord-JobQueue.fifo",
        "awsRegion": "us-east-1",
    }


def sqs_events() -> dict[str, dict[str, Any]]:
    draft = {
        "kind": "bug",
        "title": "Raid lobby freezes after the countdown",
        "sections": [
            {"label": "What happened?", "text": "The lobby froze at 0 seconds."},
            {"label": "Steps to reproduce", "text": "1. Join a raid 2. Wait"},
        ],
        "reporter": {"user_id": MEMBER["user"]["id"], "username": "alice", "display_name": "Alice"},
        "guild_id": GUILD_ID,
        "channel_id": CHANNEL_ID,
        "attachments": [],
        "priority": "normal",
    }
    return {
        "sqs_create_case": {"Records": [sqs_record(1, interaction_job("case.create", 11, {"draft": draft}))]},
        "sqs_case_queries": {
            "Records": [
                sqs_record(2, interaction_job("case.list", 12)),
                sqs_record(3, interaction_job("case.show", 13, {"number": 1})),
            ]
        },
        "sqs_chat_jobs": {
            "Records": [
                sqs_record(4, interaction_job("chat.open", 14, {"question": "My pokéstop is missing"})),
                sqs_record(5, interaction_job("chat.message", 15, {"text": "It was here yesterday"})),
                sqs_record(6, interaction_job("chat.agent", 16)),
                sqs_record(7, interaction_job("chat.end", 17)),
            ]
        },
        # Staff jobs with no staff here (alice has no role, no Manage Server): the worker refuses
        # them and tells her by DM; and a feed poll for a feed that is gone, which does nothing.
        "sqs_announcement_jobs": {
            "Records": [
                sqs_record(9, interaction_job("announcement.list", 18)),
                sqs_record(10, interaction_job("feeds.list", 19)),
                sqs_record(
                    11,
                    Job(
                        kind=JobKind.FEED_POLL,
                        key="feedpoll:1320000000000000020:1790000000",
                        group="feed:1320000000000000020",
                        payload={
                            "server": GUILD_ID,
                            "feed_id": "1320000000000000020",
                            "slot": 1790000000,
                            "now": 1790000060,
                        },
                    ),
                ),
            ]
        },
        "sqs_conversation_event": {
            "Records": [
                sqs_record(
                    8,
                    Job(
                        kind=JobKind.CONVERSATION_EVENT,
                        key="message:IM00000000000000000000000000000002",
                        group="CH00000000000000000000000000000001",
                        payload={
                            "EventType": "onMessageAdded",
                            "Source": "SDK",
                            "ConversationSid": "CH00000000000000000000000000000001",
                            "MessageSid": "IM00000000000000000000000000000002",
                            "Author": "agent_alex",
                            "Body": "Hi, I'm Alex from support.",
                        },
                    ),
                )
            ]
        },
    }


STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/flexcord/00000000-0000-0000-0000-000000000000"


def custom_resource_events() -> dict[str, dict[str, Any]]:
    def event(request_type: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:flexcord-CommandsFunction",
            "ResponseURL": "http://127.0.0.1:9/cloudformation-response",
            "StackId": STACK_ID,
            "RequestId": f"sample-{request_type.lower()}",
            "LogicalResourceId": "DiscordCommands",
            "ResourceType": "Custom::DiscordCommands",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:flexcord-CommandsFunction",
                "ApplicationId": APPLICATION_ID,
                "GuildId": GUILD_ID,
                "LayerVersion": "arn:aws:lambda:us-east-1:123456789012:layer:FlexcordLayer:7",
            },
        }
        if request_type != "Create":
            body["PhysicalResourceId"] = f"discord-commands-{APPLICATION_ID}-{GUILD_ID}"
        return body

    return {f"cfn_commands_{kind.lower()}": event(kind) for kind in ("Create", "Update", "Delete")}


def generate() -> None:
    for name, payload in discord_events().items():
        write(name, http_event(payload))
    for name, event in twilio_events().items():
        write(name, event)
    for name, event in {**sqs_events(), **custom_resource_events()}.items():
        write(name, event)


def write(name: str, event: dict[str, Any]) -> None:
    (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")


def resign(event: dict[str, Any], *, timestamp: int | None = None) -> dict[str, Any]:
    """The same HTTP event with its signature made for `timestamp` (default: now)."""
    body = event["body"]
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = dict(event)
    signed["headers"] = {
        **event["headers"],
        "x-signature-timestamp": stamp,
        "x-signature-ed25519": SIGNING_KEY.sign(stamp.encode() + raw).signature.hex(),
    }
    return signed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="rewrite the sample events")
    resign_parser = commands.add_parser("resign", help="print an event signed with the current time")
    resign_parser.add_argument("file", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "generate":
        generate()
    else:
        json.dump(resign(json.loads(arguments.file.read_text())), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
