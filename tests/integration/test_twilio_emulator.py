"""The Twilio emulator against Twilio's documented behaviour, over real HTTP on loopback.

The real twilio-python ``Client`` talks to the emulator through an ``HttpClient`` that maps
``https://<product>.twilio.com/...`` to ``{base}/<product>/...`` (as Flexcord's client does), and
a tiny local HTTP server plays the webhook target.
"""

from __future__ import annotations

import json
import os
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

SPECS_DIR = Path(os.environ.get("TWILIO_OPENAPI_SPECS", "/work/shared/specs/twilio"))
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
    spec: dict[str, Any] = json.loads((SPECS_DIR / f"twilio_{name}.json").read_text())
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
    specs = {"conversations": load_spec("conversations_v1"), "flex-api": load_spec("flex_v1")}
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


def test_studio_webhooks_record_triggers_instead_of_running_flows(
    twilio: TwilioEmulator, client: Client, receiver: WebhookReceiver
) -> None:
    seen: list[Any] = []
    twilio.on_studio_trigger = seen.append
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
    trigger_flow, trigger_conversation, message = twilio.studio_triggers[0]
    assert (trigger_flow, trigger_conversation) == (flow_sid, conversation.sid)
    assert (message["sid"], message["body"]) == (asked.sid, "how do I reset?")
    assert seen == twilio.studio_triggers


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
