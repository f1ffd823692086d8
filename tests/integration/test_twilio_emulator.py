"""The Twilio emulator against Twilio's documented behaviour, over real HTTP on loopback.

The real twilio-python ``Client`` talks to the emulator through an ``HttpClient`` that maps
``https://<product>.twilio.com/...`` to ``{base}/<product>/...`` (as Flexcord's client does), and
a tiny local HTTP server plays the webhook target.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from devstack.twilio_emulator import (
    ROUTES,
    AgentActionError,
    EmulatorControl,
    TwilioEmulator,
)
from devstack.twilio_emulator.studio import LiquidError, render
from devstack.twilio_emulator.studio.runner import compare
from tests.support.spec import TWILIO_SPECS_DIR

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


# -- helpers ----------------------------------------------------------------------------------


class EmulatorHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Sends ``https://conversations.twilio.com/v1/X`` to ``{base}/conversations/v1/X``."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.netloc.endswith("twilio.com"):
            product = parts.netloc.split(".")[0]
            url = f"{self.base_url}/{product}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


class WebhookReceiver:
    """A webhook target: records every request; ``respond(n, params)`` picks (status, delay)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.respond: Callable[[int, dict[str, str]], tuple[int, float]] = lambda n, params: (200, 0.0)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(
                        {"params": params, "headers": dict(self.headers), "path": self.path}
                    )
                status, delay = receiver.respond(number, params)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the emulator gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/twilio/conversation-events"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def events(self, event_type: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [r["params"] for r in self.received if event_type in (None, r["params"]["EventType"])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio() -> Iterator[TwilioEmulator]:
    with TwilioEmulator(webhook_retry_backoff=0.05, timer_interval=0.1) as emulator:
        yield emulator


@pytest.fixture
def client(twilio: TwilioEmulator) -> Client:
    return Client(twilio.account_sid, twilio.auth_token, http_client=EmulatorHttpClient(twilio.base_url))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    target = WebhookReceiver()
    yield target
    target.close()


def raw(twilio: TwilioEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", (twilio.account_sid, twilio.auth_token))
    return requests.request(method, f"{twilio.base_url}{path}", timeout=10, **kwargs)


def load_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((TWILIO_SPECS_DIR / f"twilio_{name}.json").read_text())
    return spec


def assert_matches_schema(payload: dict[str, Any], spec: dict[str, Any], schema_name: str) -> None:
    """Every property of the spec's schema is present; SIDs match their documented patterns."""
    schema = spec["components"]["schemas"][schema_name]
    missing = set(schema["properties"]) - set(payload)
    assert not missing, f"{schema_name}: missing {sorted(missing)}"
    for name, prop in schema["properties"].items():
        value = payload[name]
        if "pattern" in prop and value is not None:
            assert re.fullmatch(prop["pattern"].strip("^$"), value), f"{name}={value!r} !~ {prop['pattern']}"
        if value is not None and prop.get("type") == "string" and prop.get("format") != "uri-map":
            assert isinstance(value, str), f"{name} should be a string"
    for name in schema.get("required", []):
        assert name in payload


def conversation_with_webhook(
    client: Client, receiver: WebhookReceiver, filters: list[str] | None = None
) -> tuple[str, str]:
    conversation = client.conversations.v1.conversations.create(friendly_name="Support: alice")
    webhook = client.conversations.v1.conversations(conversation.sid).webhooks.create(
        target="webhook",
        configuration_url=receiver.url,
        configuration_method="POST",
        configuration_filters=filters
        or ["onMessageAdded", "onParticipantAdded", "onParticipantRemoved", "onConversationStateUpdated"],
    )
    return conversation.sid, webhook.sid


def route_to_flex(
    client: Client, twilio: TwilioEmulator, conversation_sid: str, attributes: dict[str, Any]
) -> Any:
    return client.flex_api.v1.interaction.create(
        channel={
            "type": "chat",
            "initiated_by": "customer",
            "properties": {"media_channel_sid": conversation_sid},
        },
        routing={
            "properties": {
                "workspace_sid": twilio.workspace_sid,
                "workflow_sid": twilio.workflow_sid,
                "task_channel_unique_name": "chat",
                "attributes": attributes,
            }
        },
    )


# -- the API surface --------------------------------------------------------------------------


def test_every_route_exists_in_the_official_specs_except_media() -> None:
    specs = {
        "conversations": load_spec("conversations_v1"),
        "flex-api": load_spec("flex_v1"),
        "studio": load_spec("studio_v2"),
    }
    for route in ROUTES:
        if not route.in_spec:
            # The Media Content Service (mcs.us1.twilio.com) and its signed content URLs are not
            # in twilio-oai; their shapes come from Twilio's Media resource documentation.
            assert route.product in ("mcs", "media"), route.key
            continue
        path_item = specs[route.product]["paths"].get(route.template)
        assert path_item is not None, f"{route.key}: path not in the spec"
        operation = path_item.get(route.method.lower())
        assert operation is not None, f"{route.key}: method not in the spec"
        body = (
            operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
        )
        documented = set(body.get("schema", {}).get("properties", {}))
        assert route.params <= documented, f"{route.key}: {sorted(route.params - documented)} not in the spec"


def test_requests_need_basic_auth_with_the_auth_token_or_an_api_key(twilio: TwilioEmulator) -> None:
    for auth in (None, (twilio.account_sid, "wrong-token"), ("SK" + "0" * 32, "nope")):
        response = raw(twilio, "GET", "/conversations/v1/Conversations", auth=auth)
        assert response.status_code == 401
        assert response.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
    # Credentials are checked before the route: an unknown path is still a 401 without them.
    assert raw(twilio, "GET", "/conversations/v1/Nothing", auth=None).status_code == 401

    keyed = Client(
        twilio.api_key_sid,
        twilio.api_key_secret,
        twilio.account_sid,
        http_client=EmulatorHttpClient(twilio.base_url),
    )
    assert keyed.conversations.v1.conversations.create(friendly_name="via key").sid.startswith("CH")

    missing = raw(twilio, "GET", "/conversations/v1/Conversations/CH" + "0" * 32)
    assert missing.status_code == 404
    assert missing.json()["code"] == 20404
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.headers["Twilio-Request-Id"].startswith("RQ")


def test_created_resources_have_the_spec_shapes(twilio: TwilioEmulator, receiver: WebhookReceiver) -> None:
    spec = load_spec("conversations_v1")
    created = raw(
        twilio,
        "POST",
        "/conversations/v1/Conversations",
        data={
            "FriendlyName": "Support: alice",
            "Attributes": '{"case": 7}',
            "State": "active",
            "Timers.Inactive": "PT1H",
        },
    )
    assert created.status_code == 201
    conversation = created.json()
    assert_matches_schema(conversation, spec, "conversations.v1.conversation")
    assert conversation["account_sid"] == twilio.account_sid
    assert conversation["chat_service_sid"] == twilio.chat_service_sid
    assert conversation["attributes"] == '{"case": 7}'
    assert conversation["state"] == "active"
    assert set(conversation["timers"]) == {"date_inactive"}
    assert set(conversation["links"]) == {"participants", "messages", "webhooks", "export"}
    sid = conversation["sid"]
    assert raw(twilio, "GET", f"/conversations/v1/Conversations/{sid}").json() == conversation

    participant = raw(
        twilio, "POST", f"/conversations/v1/Conversations/{sid}/Participants", data={"Identity": "discord_42"}
    ).json()
    assert_matches_schema(participant, spec, "conversations.v1.conversation.conversation_participant")
    assert participant["attributes"] == "{}"
    assert participant["messaging_binding"] is None

    first = raw(
        twilio,
        "POST",
        f"/conversations/v1/Conversations/{sid}/Messages",
        data={"Author": "discord_42", "Body": "hi"},
    ).json()
    second = raw(
        twilio, "POST", f"/conversations/v1/Conversations/{sid}/Messages", data={"Body": "note"}
    ).json()
    assert_matches_schema(first, spec, "conversations.v1.conversation.conversation_message")
    assert (first["index"], second["index"]) == (0, 1)
    assert first["participant_sid"] == participant["sid"]
    assert (second["author"], second["participant_sid"], second["media"]) == ("system", None, None)

    webhook = raw(
        twilio,
        "POST",
        f"/conversations/v1/Conversations/{sid}/Webhooks",
        data={
            "Target": "webhook",
            "Configuration.Url": receiver.url,
            "Configuration.Method": "POST",
            "Configuration.Filters": ["onMessageAdded", "onParticipantAdded"],
        },
    ).json()
    assert_matches_schema(webhook, spec, "conversations.v1.conversation.conversation_scoped_webhook")
    assert webhook["configuration"]["filters"] == ["onMessageAdded", "onParticipantAdded"]
    listed = raw(twilio, "GET", f"/conversations/v1/Conversations/{sid}/Webhooks").json()
    assert listed["meta"]["key"] == "webhooks"
    assert [w["sid"] for w in listed["webhooks"]] == [webhook["sid"]]


def test_the_twilio_client_pages_through_lists(twilio: TwilioEmulator, client: Client) -> None:
    conversation = client.conversations.v1.conversations.create()
    messages = client.conversations.v1.conversations(conversation.sid).messages
    for number in range(5):
        messages.create(body=f"m{number}")
    assert [m.body for m in messages.list(page_size=2)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.index for m in messages.list(order="desc", limit=2)] == [4, 3]
    pages = [r for r in twilio.requests if r.route and r.route.startswith("GET") and "Messages" in r.path]
    assert len(pages) == 4  # three pages of two, then one of two for the desc list


def test_webhook_rules_limit_five_and_no_reopening(twilio: TwilioEmulator, client: Client) -> None:
    conversation = client.conversations.v1.conversations.create()
    hooks = client.conversations.v1.conversations(conversation.sid).webhooks
    for number in range(5):
        hooks.create(
            target="webhook",
            configuration_url=f"https://example.com/{number}",
            configuration_filters=["onMessageAdded"],
        )
    with pytest.raises(TwilioRestException) as too_many:
        hooks.create(target="webhook", configuration_url="https://example.com/6")
    assert (too_many.value.status, too_many.value.code) == (400, 50361)
    with pytest.raises(TwilioRestException) as no_target:
        hooks.create(target="")  # Target is required
    assert no_target.value.code == 50368

    with pytest.raises(TwilioRestException) as timers_alone:
        client.conversations.v1.conversations.create(timers_inactive="PT5M")
    assert timers_alone.value.code == 50382

    closed = client.conversations.v1.conversations(conversation.sid).update(state="closed")
    assert closed.state == "closed"
    attempts: list[Callable[[], Any]] = [
        lambda: client.conversations.v1.conversations(conversation.sid).update(state="active"),
        lambda: client.conversations.v1.conversations(conversation.sid).messages.create(body="late"),
        lambda: client.conversations.v1.conversations(conversation.sid).participants.create(identity="x"),
    ]
    for attempt in attempts:
        with pytest.raises(TwilioRestException) as refused:
            attempt()
        assert (refused.value.status, refused.value.code) == (400, 50377)

    with pytest.raises(TwilioRestException) as bad_json:
        client.conversations.v1.conversations.create(attributes="{not json")
    assert bad_json.value.code == 50304


def test_resources_can_be_addressed_by_unique_name_and_identity(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    conversation = client.conversations.v1.conversations.create(unique_name="discord-42-support")
    assert client.conversations.v1.conversations("discord-42-support").fetch().sid == conversation.sid
    participants = client.conversations.v1.conversations(conversation.sid).participants
    member = participants.create(identity="discord_42", attributes='{"name": "alice"}')
    assert participants("discord_42").fetch().sid == member.sid
    with pytest.raises(TwilioRestException) as duplicate:
        participants.create(identity="discord_42")
    assert (duplicate.value.status, duplicate.value.code) == (409, 50433)
    with pytest.raises(TwilioRestException) as taken:
        client.conversations.v1.conversations.create(unique_name="discord-42-support")
    assert taken.value.code == 50353

    client.conversations.v1.conversations(conversation.sid).webhooks.create(
        target="webhook", configuration_url=receiver.url, configuration_filters=["onParticipantRemoved"]
    )
    other = participants.create(identity="discord_43")
    # twilio-python 9.13 drops X-Twilio-Webhook-Enabled on delete() (its _delete overwrites the
    # headers), so that delete is silent; the header itself works when it is actually sent.
    participants(other.sid).delete(x_twilio_webhook_enabled="true")
    assert "x-twilio-webhook-enabled" not in twilio.requests[-1].headers
    path = f"/conversations/v1/Conversations/{conversation.sid}/Participants/{member.sid}"
    assert raw(twilio, "DELETE", path, headers={"X-Twilio-Webhook-Enabled": "true"}).status_code == 204
    assert participants.list() == []
    assert twilio.wait_for_webhooks()
    (removed,) = receiver.events("onParticipantRemoved")
    assert (removed["Identity"], removed["Source"], removed["Attributes"]) == (
        "discord_42",
        "API",
        '{"name": "alice"}',
    )


def test_unknown_parameters_are_refused_with_a_note(twilio: TwilioEmulator) -> None:
    sid = raw(twilio, "POST", "/conversations/v1/Conversations").json()["sid"]
    response = raw(
        twilio,
        "POST",
        f"/conversations/v1/Conversations/{sid}/Webhooks",
        data={
            "Target": "webhook",
            "Configuration.Url": "https://example.com",
            "Configuration.Filter": "onMessageAdded",
        },
    )
    assert response.status_code == 400
    assert "Configuration.Filter" in response.headers["X-Emulator-Note"]
    twilio.strict_params = False  # real Twilio ignores unknown parameters
    response = raw(twilio, "POST", f"/conversations/v1/Conversations/{sid}", data={"Nonsense": "1"})
    assert response.status_code == 200


# -- webhooks ---------------------------------------------------------------------------------


def test_rest_messages_fire_signed_webhooks_only_with_the_header(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    sid, _ = conversation_with_webhook(client, receiver)
    messages = client.conversations.v1.conversations(sid).messages
    client.conversations.v1.conversations(sid).participants.create(identity="discord_42")  # no header: silent
    messages.create(author="discord_42", body="recorded only")
    sent = messages.create(
        author="discord_42",
        body="hello agent",
        attributes='{"discord_id": "42"}',
        x_twilio_webhook_enabled="true",
    )
    assert twilio.wait_for_webhooks()
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    params, headers = delivery["params"], delivery["headers"]
    assert RequestValidator(twilio.auth_token).validate(receiver.url, params, headers["X-Twilio-Signature"])
    assert not RequestValidator("other-token").validate(receiver.url, params, headers["X-Twilio-Signature"])
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["User-Agent"].startswith("TwilioProxy/")
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["I-Twilio-Idempotency-Token"])
    assert params == {
        "AccountSid": twilio.account_sid,
        "ChatServiceSid": twilio.chat_service_sid,
        "EventType": "onMessageAdded",
        "Source": "API",
        "RetryCount": "0",
        "ConversationSid": sid,
        "MessageSid": sent.sid,
        "MessagingServiceSid": params["MessagingServiceSid"],
        "Index": "1",
        "DateCreated": params["DateCreated"],
        "Body": "hello agent",
        "Author": "discord_42",
        "ParticipantSid": sent.participant_sid,
        "Attributes": '{"discord_id": "42"}',
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", params["DateCreated"])
    log = twilio.webhook_deliveries
    assert [(a.event_type, a.outcome, a.status) for a in log] == [("onMessageAdded", "delivered", 200)]

    twilio.only_api_messages_with_header = False  # a looser mode: every REST action echoes
    messages.create(author="discord_42", body="now echoed")
    assert twilio.wait_for_webhooks()
    assert [e["Body"] for e in receiver.events()] == ["hello agent", "now echoed"]


def test_failed_deliveries_are_retried_with_the_same_token(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    twilio.webhook_timeout = 0.3
    # First attempt: 500; second: no answer in time; third: accepted.
    receiver.respond = lambda number, params: [(500, 0.0), (200, 0.6), (200, 0.0)][min(number, 2)]
    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded"])
    messages = client.conversations.v1.conversations(sid).messages
    messages.create(body="retry me", x_twilio_webhook_enabled="true")
    messages.create(body="next", x_twilio_webhook_enabled="true")
    assert twilio.wait_for_webhooks()
    # One conversation's events stay in order: the second waits for the first one's retries.
    assert [r["params"]["Body"] for r in receiver.received] == ["retry me"] * 3 + ["next"]
    attempts = [a for a in twilio.webhook_deliveries if a.params["Body"] == "retry me"]
    assert [(a.retry_count, a.outcome) for a in attempts] == [
        (0, "http_error"),
        (1, "timeout"),
        (2, "delivered"),
    ]
    assert attempts[0].status == 500
    assert len({a.idempotency_token for a in attempts}) == 1
    assert len({a.delivery_id for a in attempts}) == 1
    retried = receiver.received[:3]
    assert [r["params"]["RetryCount"] for r in retried] == ["0", "1", "2"]
    assert {r["headers"]["I-Twilio-Idempotency-Token"] for r in retried} == {attempts[0].idempotency_token}
    assert receiver.received[3]["headers"]["I-Twilio-Idempotency-Token"] != attempts[0].idempotency_token
    for request in retried:  # each retry is signed for its own RetryCount
        assert RequestValidator(twilio.auth_token).validate(
            receiver.url, request["params"], request["headers"]["X-Twilio-Signature"]
        )


def test_retries_are_bounded(twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver) -> None:
    twilio.webhook_retries = 1
    receiver.respond = lambda number, params: (503, 0.0)
    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded"])
    client.conversations.v1.conversations(sid).messages.create(body="doomed", x_twilio_webhook_enabled="true")
    assert twilio.wait_for_webhooks()
    assert [(a.retry_count, a.status) for a in twilio.webhook_deliveries] == [(0, 503), (1, 503)]


def test_duplicate_mode_delivers_each_webhook_twice(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    twilio.duplicate_deliveries = True
    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded"])
    client.conversations.v1.conversations(sid).messages.create(body="twice", x_twilio_webhook_enabled="true")
    assert twilio.wait_for_webhooks()
    first, second = receiver.received
    assert first["params"] == second["params"]
    assert first["headers"]["I-Twilio-Idempotency-Token"] == second["headers"]["I-Twilio-Idempotency-Token"]
    assert [a.duplicate for a in twilio.webhook_deliveries] == [False, True]


def test_studio_webhooks_record_triggers_and_call_the_hook(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    seen: list[Any] = []
    twilio.on_studio_trigger = seen.append  # replaces the flow runner
    flow_sid = "FW" + "1" * 32
    conversation = client.conversations.v1.conversations.create()
    client.conversations.v1.conversations(conversation.sid).webhooks.create(
        target="studio", configuration_flow_sid=flow_sid, configuration_filters=["onMessageAdded"]
    )
    messages = client.conversations.v1.conversations(conversation.sid).messages
    messages.create(author="discord_42", body="bot answer, recorded only")
    asked = messages.create(author="discord_42", body="how do I reset?", x_twilio_webhook_enabled="true")
    assert twilio.wait_for_webhooks()
    assert len(twilio.studio_triggers) == 1
    trigger_flow, trigger_conversation, message, params = twilio.studio_triggers[0]
    assert (trigger_flow, trigger_conversation) == (flow_sid, conversation.sid)
    assert (message["sid"], message["body"]) == (asked.sid, "how do I reset?")
    assert (params["MessageSid"], params["Author"], params["Source"]) == (asked.sid, "discord_42", "API")
    assert seen == twilio.studio_triggers
    assert twilio.studio_executions == []


# -- Flex -------------------------------------------------------------------------------------


def test_interaction_creates_a_task_with_the_routing_attributes(
    twilio: TwilioEmulator, client: Client
) -> None:
    flex_spec = load_spec("flex_v1")
    conversation = client.conversations.v1.conversations.create()
    interaction = route_to_flex(
        client, twilio, conversation.sid, {"case_number": 12, "discord_name": "alice"}
    )
    assert interaction.sid.startswith("KD")
    assert interaction.channel["sid"].startswith("UO")
    assert interaction.channel["type"] == "chat"
    task_properties = interaction.routing["properties"]
    assert task_properties["sid"].startswith("WT")
    assert json.loads(task_properties["attributes"])["case_number"] == 12

    fetched = raw(twilio, "GET", f"/flex-api/v1/Interactions/{interaction.sid}").json()
    assert_matches_schema(fetched, flex_spec, "flex.v1.interaction")
    channels = raw(twilio, "GET", f"/flex-api/v1/Interactions/{interaction.sid}/Channels").json()
    assert channels["meta"]["key"] == "channels"
    assert_matches_schema(channels["channels"][0], flex_spec, "flex.v1.interaction.interaction_channel")
    assert channels["channels"][0]["status"] == "active"

    (task,) = twilio.tasks()
    assert task["assignment_status"] == "pending"
    assert task["sid"] == task_properties["sid"]
    assert (task["interaction_sid"], task["conversation_sid"]) == (interaction.sid, conversation.sid)
    assert task["attributes"]["discord_name"] == "alice"
    assert task["attributes"]["conversationSid"] == conversation.sid

    with pytest.raises(TwilioRestException) as wrong_workspace:
        client.flex_api.v1.interaction.create(
            channel={"type": "chat", "properties": {"media_channel_sid": conversation.sid}},
            routing={"properties": {"workspace_sid": "WS" + "0" * 32, "workflow_sid": twilio.workflow_sid}},
        )
    assert wrong_workspace.value.status == 404


def test_the_agent_accepts_answers_and_completes(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    sid, _ = conversation_with_webhook(client, receiver)
    client.conversations.v1.conversations(sid).participants.create(identity="discord_42")
    interaction = route_to_flex(client, twilio, sid, {"case_number": 3})
    task_sid = twilio.tasks()[0]["sid"]

    accepted = twilio.accept(task_sid, agent="alex", friendly_name="Alex")
    assert (accepted["assignment_status"], accepted["agent_identity"]) == ("assigned", "agent_alex")
    with pytest.raises(AgentActionError):
        twilio.accept(task_sid)  # only a pending task can be accepted
    said = twilio.agent_say(task_sid, "Hi, I'm Alex. How can I help?")
    assert said["author"] == "agent_alex"
    completed = twilio.complete(task_sid)
    assert completed["assignment_status"] == "completed"
    assert twilio.tasks() == []

    assert twilio.wait_for_webhooks()
    events = receiver.events()
    assert [e["EventType"] for e in events] == [
        "onParticipantAdded",
        "onMessageAdded",
        "onParticipantRemoved",
        "onConversationStateUpdated",
    ]
    added, message, removed, state = events
    assert (added["Source"], added["ClientIdentity"], added["Identity"]) == (
        "SDK",
        "agent_alex",
        "agent_alex",
    )
    assert json.loads(added["Attributes"]) == {"friendly_name": "Alex"}
    assert (message["Source"], message["ClientIdentity"], message["Author"]) == (
        "SDK",
        "agent_alex",
        "agent_alex",
    )
    assert message["Body"] == "Hi, I'm Alex. How can I help?"
    assert message["ParticipantSid"] == added["ParticipantSid"]
    assert removed["ParticipantSid"] == added["ParticipantSid"]
    assert (state["StateFrom"], state["StateTo"], state["Reason"]) == ("active", "closed", "API")

    assert client.conversations.v1.conversations(sid).fetch().state == "closed"
    assert [p["identity"] for p in twilio.participants(sid)] == ["discord_42"]
    channel_sid = interaction.channel["sid"]
    channel = raw(twilio, "GET", f"/flex-api/v1/Interactions/{interaction.sid}/Channels/{channel_sid}").json()
    assert channel["status"] == "closed"


def test_closing_the_interaction_channel_over_rest_ends_the_chat(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    sid, _ = conversation_with_webhook(client, receiver, ["onConversationStateUpdated"])
    interaction = route_to_flex(client, twilio, sid, {})
    twilio.accept(twilio.tasks()[0]["sid"])
    channel = (
        client.flex_api.v1.interaction(interaction.sid)
        .channels(interaction.channel["sid"])
        .update(status="closed", routing={"status": "closed"})
    )
    assert channel.status == "closed"
    assert twilio.tasks(include_closed=True)[0]["assignment_status"] == "completed"
    assert twilio.wait_for_webhooks()
    assert [e["StateTo"] for e in receiver.events("onConversationStateUpdated")] == ["closed"]


# -- media ------------------------------------------------------------------------------------


def test_media_upload_then_a_message_that_carries_it(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    upload = raw(
        twilio,
        "POST",
        f"/mcs/v1/Services/{twilio.chat_service_sid}/Media",
        params={"Filename": "screenshot.png"},
        data=PNG,
        headers={"Content-Type": "image/png"},
    )
    assert upload.status_code == 201
    media = upload.json()
    assert re.fullmatch(r"ME[0-9a-f]{32}", media["sid"])
    assert (media["content_type"], media["filename"], media["size"]) == (
        "image/png",
        "screenshot.png",
        len(PNG),
    )
    assert media["service_sid"] == twilio.chat_service_sid
    content = raw(twilio, "GET", urlsplit(media["links"]["content"]).path)
    assert (content.content, content.headers["Content-Type"]) == (PNG, "image/png")
    temporary = requests.get(media["links"]["content_direct_temporary"], timeout=10)  # no credentials
    assert temporary.content == PNG
    assert requests.get(media["links"]["content_direct_temporary"] + "0", timeout=10).status_code == 403

    disposition = raw(
        twilio,
        "POST",
        f"/mcs/v1/Services/{twilio.chat_service_sid}/Media",
        data=b"log line",
        headers={"Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="app.log"'},
    ).json()
    assert disposition["filename"] == "app.log"

    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded"])
    message = client.conversations.v1.conversations(sid).messages.create(
        author="discord_42", media_sid=media["sid"], x_twilio_webhook_enabled="true"
    )
    assert message.media == [
        {
            "category": "media",
            "sid": media["sid"],
            "size": len(PNG),
            "content_type": "image/png",
            "filename": "screenshot.png",
        }
    ]
    assert raw(twilio, "GET", urlsplit(media["url"]).path).json()["message_sid"] == message.sid

    assert twilio.wait_for_webhooks()
    (event,) = receiver.events("onMessageAdded")
    assert json.loads(event["Media"]) == [
        {
            "Sid": media["sid"],
            "Filename": "screenshot.png",
            "ContentType": "image/png",
            "Size": len(PNG),
            "Category": "media",
        }
    ]


def test_the_agent_can_send_files(twilio: TwilioEmulator, client: Client) -> None:
    conversation = client.conversations.v1.conversations.create()
    route_to_flex(client, twilio, conversation.sid, {})
    task_sid = twilio.tasks()[0]["sid"]
    twilio.accept(task_sid)
    message = twilio.agent_say(task_sid, "here is the fix", media=[("fix.png", PNG, "image/png")])
    assert message["media"][0]["filename"] == "fix.png"
    assert twilio.media_content(message["media"][0]["sid"]) == PNG


# -- timers, faults, the request log and the control API --------------------------------------


def test_timers_move_the_conversation_along(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    sid, _ = conversation_with_webhook(client, receiver, ["onConversationStateUpdated"])
    client.conversations.v1.conversations(sid).update(
        state="active", timers_inactive="PT1M", timers_closed="PT10M"
    )
    twilio.advance_clock(61)
    assert client.conversations.v1.conversations(sid).fetch().state == "inactive"
    twilio.advance_clock(600)
    assert client.conversations.v1.conversations(sid).fetch().state == "closed"
    assert twilio.wait_for_webhooks()
    moves = [(e["StateFrom"], e["StateTo"], e["Reason"]) for e in receiver.events()]
    assert moves == [("active", "inactive", "TIMER"), ("inactive", "closed", "TIMER")]
    with pytest.raises(TwilioRestException) as too_short:
        client.conversations.v1.conversations.create(state="active", timers_inactive="PT30S")
    assert too_short.value.code == 50375


def test_faults_and_the_request_log(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded", "onParticipantAdded"])
    twilio.inject_fault("POST", r"/Messages$", 503)
    with pytest.raises(TwilioRestException) as failed:
        client.conversations.v1.conversations(sid).messages.create(body="first try")
    assert (failed.value.status, failed.value.code) == (503, 20503)
    client.conversations.v1.conversations(sid).messages.create(
        body="second try", x_twilio_webhook_enabled="true"
    )

    webhook_call = next(r for r in twilio.requests if r.path.endswith("/Webhooks"))
    assert webhook_call.product == "conversations"
    assert webhook_call.product_path == f"/v1/Conversations/{sid}/Webhooks"
    assert webhook_call.form["Configuration.Filters"] == ["onMessageAdded", "onParticipantAdded"]
    assert webhook_call.form["Target"] == "webhook"
    assert webhook_call.route == "POST /conversations/v1/Conversations/{ConversationSid}/Webhooks"
    statuses = [(r.status, r.form.get("Body")) for r in twilio.requests if r.path.endswith("/Messages")]
    assert statuses == [(503, "first try"), (201, "second try")]
    last = twilio.requests[-1]
    assert last.headers["x-twilio-webhook-enabled"] == "true"
    assert last.headers["authorization"].startswith("Basic ")


def test_the_control_api_plays_the_agent_from_another_process(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    control = EmulatorControl(twilio.base_url)
    sid, _ = conversation_with_webhook(client, receiver, ["onMessageAdded"])
    route_to_flex(client, twilio, sid, {"case_number": 9})
    (task,) = control.wait_for(control.tasks)
    assert task["attributes"]["case_number"] == 9
    control.accept(task["sid"], agent="sam", friendly_name="Sam")
    control.agent_say(task["sid"], "Hello from Sam", media=[("notes.txt", b"steps", "text/plain")])
    assert [m["author"] for m in control.messages(sid)] == ["agent_sam"]
    assert control.conversation(sid)["state"] == "active"
    control.complete(task["sid"])
    assert control.conversation(sid)["state"] == "closed"
    assert control.tasks() == []
    assert control.update_settings(duplicate_deliveries=True)["duplicate_deliveries"] is True
    assert twilio.duplicate_deliveries is True
    assert twilio.wait_for_webhooks()
    deliveries = control.webhook_deliveries()
    assert [(d["event_type"], d["params"]["Source"]) for d in deliveries] == [("onMessageAdded", "SDK")]
    assert any(r["route"] == "POST /flex-api/v1/Interactions" for r in control.requests())


# -- Studio -----------------------------------------------------------------------------------

FLOW_FILE = Path(__file__).resolve().parents[2] / "studio" / "flexcord-flow.json"
HANDOFF = {"handoff": True, "task": {"discord_display_name": "Alice", "case_number": 7, "locale": "en-GB"}}


class ChatbotServer:
    """Plays ChatbotFunction for the flow's Make HTTP Request: checks Studio's signature (JSON body,
    ``?bodySHA256=``) with RequestValidator and answers what ``answer(body)`` returns:
    ``(status, payload, delay)``, the payload a dict (sent as JSON) or bytes."""

    def __init__(self, auth_token: str) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: Callable[[Any], tuple[int, Any, float]] = lambda body: (200, {"handoff": False}, 0.0)
        chatbot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                text = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                url = f"http://127.0.0.1:{chatbot.server.server_address[1]}{self.path}"
                signed = RequestValidator(auth_token).validate(
                    url, text, self.headers.get("X-Twilio-Signature", "")
                )
                chatbot.received.append(
                    {
                        "path": self.path,
                        "query": dict(parse_qsl(urlsplit(self.path).query)),
                        "headers": dict(self.headers),
                        "text": text,
                        "signed": signed,
                    }
                )
                status, payload, delay = chatbot.answer(json.loads(text)) if signed else (403, {}, 0.0)
                time.sleep(delay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # Studio gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/twilio/chatbot"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chatbot(twilio: TwilioEmulator) -> Iterator[ChatbotServer]:
    server = ChatbotServer(twilio.auth_token)
    yield server
    server.close()


def flexcord_flow(twilio: TwilioEmulator, chatbot_url: str) -> dict[str, Any]:
    """studio/flexcord-flow.json with its placeholders filled, as the setup command does."""
    text = FLOW_FILE.read_text()
    for placeholder, value in {
        "${CHATBOT_URL}": chatbot_url,
        "${FLEX_WORKFLOW_SID}": twilio.workflow_sid,
        "${FLEX_CHAT_CHANNEL_SID}": twilio.chat_task_channel_sid,
    }.items():
        text = text.replace(placeholder, value)
    assert not re.search(r"\$\{[A-Z_]+\}", text)
    definition: dict[str, Any] = json.loads(text)
    return definition


def studio_conversation(client: Client, flow_sid: str) -> str:
    conversation = client.conversations.v1.conversations.create(friendly_name="Support: alice")
    client.conversations.v1.conversations(conversation.sid).participants.create(identity="discord_42")
    client.conversations.v1.conversations(conversation.sid).webhooks.create(
        target="studio", configuration_flow_sid=flow_sid, configuration_filters=["onMessageAdded"]
    )
    return str(conversation.sid)


def member_says(client: Client, conversation_sid: str, body: str) -> Any:
    return client.conversations.v1.conversations(conversation_sid).messages.create(
        author="discord_42", body=body, x_twilio_webhook_enabled="true"
    )


def trigger_only_flow(*states: dict[str, Any], first: str | None = None) -> dict[str, Any]:
    trigger = {
        "name": "Trigger",
        "type": "trigger",
        "transitions": [{"event": "incomingConversationMessage", "next": first}],
        "properties": {},
    }
    return {
        "initial_state": "Trigger",
        "states": [trigger, *states],
        "flags": {"allow_concurrent_calls": True},
    }


def test_studio_flows_are_stored_with_revisions(twilio: TwilioEmulator, client: Client) -> None:
    spec = load_spec("studio_v2")
    definition = flexcord_flow(twilio, "https://example.com/twilio/chatbot")
    flow = client.studio.v2.flows.create(
        friendly_name="Flexcord assistant", status="published", definition=definition, commit_message="setup"
    )
    assert (flow.revision, flow.status, flow.valid, flow.commit_message) == (1, "published", True, "setup")
    assert flow.definition == definition
    fetched = raw(twilio, "GET", f"/studio/v2/Flows/{flow.sid}").json()
    assert_matches_schema(fetched, spec, "studio.v2.flow")
    assert fetched["url"] == f"{twilio.base_url}/studio/v2/Flows/{flow.sid}"
    assert fetched["links"]["revisions"].endswith(f"/Flows/{flow.sid}/Revisions")

    listed = raw(twilio, "GET", "/studio/v2/Flows").json()
    assert listed["meta"]["key"] == "flows"
    assert [f["sid"] for f in listed["flows"]] == [flow.sid]
    assert listed["flows"][0]["definition"] is None  # lists leave the definition out, as Twilio's do
    assert [f.friendly_name for f in client.studio.v2.flows.list()] == ["Flexcord assistant"]

    changed = {**definition, "description": "changed"}
    flows = client.studio.v2.flows(flow.sid)
    assert flows.update(status="published", definition=changed).revision == 2
    # Every update makes a revision, even one that changes nothing ("Revisions are automatically
    # created when a Flow is created or updated").
    same = flows.update(status="published", definition=changed)
    assert (same.revision, same.definition, same.commit_message) == (3, changed, None)
    draft = flows.update(status="draft", friendly_name="Flexcord (draft)")
    assert (draft.revision, draft.status, draft.friendly_name, draft.definition) == (
        4,
        "draft",
        "Flexcord (draft)",
        changed,
    )
    revisions = raw(twilio, "GET", f"/studio/v2/Flows/{flow.sid}/Revisions").json()
    assert [r["revision"] for r in revisions["revisions"]] == [4, 3, 2, 1]
    assert_matches_schema(revisions["revisions"][0], spec, "studio.v2.flow.flow_revision")
    assert flows.revisions("LatestPublished").fetch().revision == 3
    assert flows.revisions("1").fetch().definition == definition
    bad_revision = raw(twilio, "GET", f"/studio/v2/Flows/{flow.sid}/Revisions/latest")
    assert (bad_revision.status_code, bad_revision.json()["code"]) == (400, 81021)

    no_status = raw(twilio, "POST", f"/studio/v2/Flows/{flow.sid}", data={"FriendlyName": "x"})
    assert (no_status.status_code, no_status.json()["code"]) == (400, 20001)
    assert flows.delete() is True
    assert raw(twilio, "GET", f"/studio/v2/Flows/{flow.sid}").status_code == 404


def test_flow_definitions_are_validated(twilio: TwilioEmulator, client: Client) -> None:
    definition = flexcord_flow(twilio, "https://example.com/twilio/chatbot")
    validate = client.studio.v2.flow_validate
    assert validate.update(friendly_name="f", status="published", definition=definition).valid is True
    unknown_widget = trigger_only_flow({"name": "fn", "type": "run-function", "properties": {}}, first="fn")
    assert validate.update(friendly_name="f", status="draft", definition=unknown_widget).valid is True

    states = definition["states"]
    broken = {
        **definition,
        "states": [
            states[0],
            {**states[1], "properties": {**states[1]["properties"], "url": ""}},
            {**states[2], "transitions": [{"event": "noMatch", "next": "nowhere"}]},
            {**states[3], "name": "route"},
            {"name": "Trigger2", "type": "trigger", "transitions": []},
        ],
    }
    with pytest.raises(TwilioRestException) as refused:
        validate.update(friendly_name="f", status="published", definition=broken)
    assert (refused.value.status, refused.value.code) == (400, 81022)
    problems = {p["property_path"]: p["message"] for p in refused.value.details["errors"]}
    assert set(problems) == {
        "#/states/1/properties/url",
        "#/states/1/transitions/1/next",  # send_to_flex was renamed
        "#/states/2/transitions/0/next",
        "#/states/3/name",
        "#/states",
    }
    assert "not unique" in problems["#/states/3/name"]
    assert "exactly one trigger" in problems["#/states"]

    with pytest.raises(TwilioRestException) as not_created:
        client.studio.v2.flows.create(friendly_name="f", status="published", definition=broken)
    assert not_created.value.code == 81022
    assert client.studio.v2.flows.list() == []
    for form, code in (
        ({"FriendlyName": "f", "Status": "published", "Definition": "{not json"}, 81022),
        ({"FriendlyName": "f", "Status": "published", "Definition": "[]"}, 81022),
        ({"FriendlyName": "f", "Status": "live", "Definition": json.dumps(definition)}, 20001),
        ({"Status": "published", "Definition": json.dumps(definition)}, 20001),
    ):
        answer = raw(twilio, "POST", "/studio/v2/Flows/Validate", data=form)
        assert (answer.status_code, answer.json()["code"]) == (400, code), form
    missing_initial = {**definition, "initial_state": "Nope"}
    answer = raw(
        twilio,
        "POST",
        "/studio/v2/Flows",
        data={"FriendlyName": "f", "Status": "published", "Definition": json.dumps(missing_initial)},
    )
    assert answer.json()["details"]["errors"][0]["property_path"] == "#/initial_state"


def test_the_configuration_a_setup_command_reads(twilio: TwilioEmulator, client: Client) -> None:
    conversations = client.conversations.v1.configuration().fetch()
    assert conversations.default_chat_service_sid == twilio.chat_service_sid
    assert conversations.default_messaging_service_sid.startswith("MG")
    assert_matches_schema(
        raw(twilio, "GET", "/conversations/v1/Configuration").json(),
        load_spec("conversations_v1"),
        "conversations.v1.configuration",
    )
    flex = client.flex_api.v1.configuration().fetch()
    assert (flex.status, flex.taskrouter_workspace_sid) == ("ok", twilio.workspace_sid)
    assert flex.chat_service_instance_sid == twilio.chat_service_sid
    assert flex.taskrouter_target_workflow_sid == twilio.workflow_sid
    assert_matches_schema(
        raw(twilio, "GET", "/flex-api/v1/Configuration").json(), load_spec("flex_v1"), "flex.v1.configuration"
    )
    assert re.fullmatch(r"TC[0-9a-f]{32}", twilio.chat_task_channel_sid)


def test_the_flexcord_flow_hands_a_chat_to_flex(
    twilio: TwilioEmulator, client: Client, chatbot: ChatbotServer
) -> None:
    flow = client.studio.v2.flows.create(
        friendly_name="Flexcord assistant", status="published", definition=flexcord_flow(twilio, chatbot.url)
    )
    sid = studio_conversation(client, flow.sid)
    chatbot.answer = lambda body: (200, HANDOFF, 0.0)
    said = 'He said "hi" \\ then: help'
    message = member_says(client, sid, said)
    member_says_quietly = client.conversations.v1.conversations(sid).messages.create
    member_says_quietly(author="flexcord", body="no header, no flow")
    assert twilio.wait_for_webhooks()

    (request,) = chatbot.received
    assert request["signed"]
    assert request["path"].startswith("/twilio/chatbot?bodySHA256=")
    assert request["query"]["bodySHA256"] == hashlib.sha256(request["text"].encode()).hexdigest()
    assert request["headers"]["Content-Type"] == "application/json;charset=utf-8"
    assert request["headers"]["User-Agent"].startswith("TwilioProxy")
    assert re.fullmatch(r"[0-9a-f-]{36}", request["headers"]["I-Twilio-Idempotency-Token"])
    assert json.loads(request["text"]) == {
        "conversation_sid": sid,
        "message_sid": message.sid,
        "author": "discord_42",
        "body": said,
        "attributes": "{}",
    }

    (execution,) = twilio.studio_executions
    assert (execution.flow_sid, execution.conversation_sid, execution.message_sid) == (
        flow.sid,
        sid,
        message.sid,
    )
    assert (execution.status, execution.error, execution.revision) == ("ended", None, 1)
    assert [(s.widget, s.event, s.next) for s in execution.steps] == [
        ("Trigger", "incomingConversationMessage", "ask_assistant"),
        ("ask_assistant", "success", "route"),
        ("route", "match", "send_to_flex"),
        ("send_to_flex", "callComplete", None),
    ]
    assert execution.widgets["ask_assistant"]["parsed"] == HANDOFF
    (task,) = twilio.tasks()
    assert task["sid"] == execution.step("send_to_flex").outcome["task_sid"]
    assert (task["conversation_sid"], task["workflow_sid"]) == (sid, twilio.workflow_sid)
    assert task["task_channel_unique_name"] == "chat"
    attributes = task["attributes"]
    assert (attributes["case_number"], attributes["discord_display_name"]) == ("7", "Alice")
    assert (attributes["from"], attributes["locale"], attributes["conversation_sid"]) == (
        "Alice",
        "en-GB",
        sid,
    )
    assert (attributes["channelType"], attributes["conversationSid"]) == ("chat", sid)
    interaction = raw(twilio, "GET", f"/flex-api/v1/Interactions/{task['interaction_sid']}").json()
    assert interaction["channel"]["properties"]["media_channel_sid"] == sid
    assert interaction["channel"]["initiated_by"] == "customer"

    executions = EmulatorControl(twilio.base_url).studio_executions()
    assert [e["status"] for e in executions] == ["ended"]
    assert executions[0]["steps"][1]["outcome"]["response"]["status_code"] == 200


def test_the_flexcord_flow_stays_with_the_assistant_or_hands_off_when_it_fails(
    twilio: TwilioEmulator, client: Client, chatbot: ChatbotServer
) -> None:
    flow = client.studio.v2.flows.create(
        friendly_name="Flexcord assistant", status="published", definition=flexcord_flow(twilio, chatbot.url)
    )
    sid = studio_conversation(client, flow.sid)
    twilio.studio_http_timeout = 0.5
    answers: list[tuple[int, Any, float]] = [
        (200, {"handoff": False, "reply": "Try turning it off and on"}, 0.0),
        (500, {"error": "boom"}, 0.0),
        (200, {"handoff": False}, 1.5),  # too slow
        (200, b'{"handoff": false, "pad": "' + b"x" * 70_000 + b'"}', 0.0),  # over 64 kB
    ]
    chatbot.answer = lambda body: answers[len(chatbot.received) - 1]
    for number in range(len(answers)):
        member_says(client, sid, f"question {number}")
    assert twilio.wait_for_webhooks(timeout=15)

    quiet, failed, slow, large = twilio.studio_executions
    assert [s.widget for s in quiet.steps] == ["Trigger", "ask_assistant", "route"]
    route = quiet.step("route")
    assert (quiet.status, route.event, route.next) == ("ended", "noMatch", None)
    for execution, error in ((failed, "HTTP 500"), (slow, "no answer within"), (large, "over 64 kB")):
        assert [(s.widget, s.event) for s in execution.steps] == [
            ("Trigger", "incomingConversationMessage"),
            ("ask_assistant", "failed"),
            ("send_to_flex", "callComplete"),
        ]
        assert error in execution.step("ask_assistant").outcome["error"]
        assert execution.status == "ended"
    # The failed transition still sends the chat to Flex; the missing variables render empty.
    tasks = twilio.tasks()
    assert len(tasks) == 3
    assert {(t["attributes"]["case_number"], t["attributes"]["discord_display_name"]) for t in tasks} == {
        ("", "")
    }
    assert [json.loads(r["text"])["body"] for r in chatbot.received] == [f"question {n}" for n in range(4)]


def test_other_widgets_and_what_cannot_run(twilio: TwilioEmulator, client: Client) -> None:
    definition = trigger_only_flow(
        {
            "name": "remember",
            "type": "set-variables",
            "transitions": [{"event": "next", "next": "check"}],
            "properties": {"variables": [{"key": "said", "value": "{{trigger.conversation.Body}}"}]},
        },
        {
            "name": "check",
            "type": "split-based-on",
            "transitions": [
                {"event": "noMatch", "next": "unknown"},
                {
                    "event": "match",
                    "next": "reply",
                    "conditions": [
                        {
                            "type": "matches_any_of",
                            "value": "hello, HI",
                            "arguments": ["{{flow.variables.said}}"],
                        }
                    ],
                },
            ],
            "properties": {"input": "{{flow.variables.said}}"},
        },
        {
            "name": "reply",
            "type": "send-message",
            "transitions": [{"event": "sent"}, {"event": "failed"}],
            "properties": {"body": "You said {{flow.variables.said | to_json}} in {{flow.channel.address}}"},
        },
        {"name": "unknown", "type": "run-function", "transitions": [], "properties": {}},
        first="remember",
    )
    flow = client.studio.v2.flows.create(friendly_name="widgets", status="published", definition=definition)
    sid = studio_conversation(client, flow.sid)
    member_says(client, sid, "Hi")
    member_says(client, sid, "something else")
    assert twilio.wait_for_webhooks()

    greeted, unknown = twilio.studio_executions
    assert [(s.widget, s.event) for s in greeted.steps][1:] == [
        ("remember", "next"),
        ("check", "match"),
        ("reply", "sent"),
    ]
    assert greeted.variables == {"said": "Hi"}
    system = [m for m in twilio.messages(sid) if m["author"] == "system"]
    assert [m["body"] for m in system] == [f'You said "Hi" in {sid}']
    assert len(twilio.studio_triggers) == 2  # the flow's own message does not start it again
    assert (unknown.status, unknown.steps[-1].widget) == ("failed", "unknown")
    assert "'run-function' is not emulated" in (unknown.error or "")

    draft = client.studio.v2.flows.create(friendly_name="draft", status="draft", definition=definition)
    draft_sid = studio_conversation(client, draft.sid)
    nowhere_sid = studio_conversation(client, "FW" + "0" * 32)
    member_says(client, draft_sid, "Hi")
    member_says(client, nowhere_sid, "Hi")
    assert twilio.wait_for_webhooks()
    drafted = twilio.studio_executions[-1]
    assert (drafted.flow_sid, drafted.status, drafted.steps) == (draft.sid, "failed", [])
    assert "no published revision" in (drafted.error or "")
    assert len(twilio.studio_executions) == 3  # the unknown flow ran nothing...
    (error,) = twilio.studio_hook_errors  # ...and says so
    assert "FW" + "0" * 32 in error
    assert nowhere_sid in error


def test_liquid_and_split_conditions() -> None:
    context = {
        "trigger": {"conversation": {"Body": 'a "quoted" \\ line\nnext', "Author": "discord_42"}},
        "widgets": {"ask": {"parsed": {"handoff": True, "n": 7, "items": [{"x": "first"}], "none": None}}},
    }
    assert render("{{trigger.conversation.Body | to_json}}", context) == '"a \\"quoted\\" \\\\ line\\nnext"'
    assert render("{{ widgets.ask.parsed.handoff }}/{{widgets.ask.parsed.n}}", context) == "true/7"
    assert (
        render(
            "[{{widgets.ask.parsed.missing.deeper}}][{{widgets.nope}}][{{widgets.ask.parsed.none}}]", context
        )
        == "[][][]"
    )
    assert render("{{widgets.ask.parsed.missing | to_json}}", context) == "null"
    assert render("{{widgets.ask.parsed.items[0].x}} {{widgets.ask.parsed.items.size}}", context) == "first 1"
    with pytest.raises(LiquidError):
        render("{% if x %}y{% endif %}", context)
    with pytest.raises(LiquidError):
        render("{{ trigger.conversation.Body | upcase }}", context)
    assert compare("equal_to", "TRUE", "true")
    assert compare("not_equal_to", "false", "true")
    assert compare("matches_any_of", "Billing", "sales, billing")
    assert compare("is_blank", "  ", "")
    assert compare("is_not_blank", "x", "")
    assert compare("contains", "I need a HUMAN", "human")
    assert not compare("contains", "bot", "human")
