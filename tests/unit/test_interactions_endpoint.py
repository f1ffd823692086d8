"""The endpoint's decisions, over a recording queue: no network, the real verification."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from flexcord.interactions import case_forms
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.interactions.signature import MAX_CLOCK_SKEW_SECONDS, SignatureRejected, verify_request
from flexcord.jobs.model import JobKind
from tests.support.signing import TEST_PUBLIC_KEY, http_event, signed_headers
from tests.unit.fakes import RecordingQueue

NOW = 1_790_000_000


def make_endpoint(queue: RecordingQueue) -> InteractionsEndpoint:
    return InteractionsEndpoint(public_key=TEST_PUBLIC_KEY, queue=lambda: queue, clock=lambda: NOW)


def interaction(kind: int, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "1300000000000000001",
        "application_id": "1200000000000000000",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "guild_id": "900",
        "channel_id": "901",
        "locale": "en-GB",
        "member": {"user": {"id": "111", "username": "alice", "global_name": "Alice"}, "roles": ["5"]},
        "data": data or {},
    }
    payload.update(extra)
    return payload


def call(
    endpoint: InteractionsEndpoint, payload: Any, *, timestamp: int = NOW, base64_body: bool = False
) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    result = endpoint.handle(
        http_event(body, signed_headers(body, timestamp=timestamp), base64_body=base64_body)
    )
    return result["statusCode"], json.loads(result["body"])


def bug_submission(**values: str) -> dict[str, Any]:
    fields = {
        "title": "Raid lobby freezes",
        "what_happened": "It froze",
        "steps": "1. Join",
        "expected_actual": "x",
    }
    fields.update(values)
    return {
        "custom_id": "case:bug",
        "components": [
            {"type": 18, "id": i, "component": {"type": 4, "id": i + 10, "custom_id": key, "value": value}}
            for i, (key, value) in enumerate(fields.items())
        ],
    }


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def test_a_signed_ping_gets_a_pong(queue: RecordingQueue) -> None:
    assert call(make_endpoint(queue), {"type": 1, "id": "1", "application_id": "2"}) == (200, {"type": 1})


def test_a_base64_body_with_upper_case_headers_is_verified_over_its_bytes(queue: RecordingQueue) -> None:
    body = json.dumps({"type": 1}).encode()
    event = http_event(body, signed_headers(body, timestamp=NOW), base64_body=True)
    event["headers"] = {name.upper(): value for name, value in event["headers"].items()}
    assert json.loads(make_endpoint(queue).handle(event)["body"]) == {"type": 1}


# The freshness window is tested on the endpoint's injected clock (always NOW), so its exact edges
# are checked: a real clock would move between signing and verifying.
@pytest.mark.parametrize("skew", [-301, 301, -100_000, 100_000])
def test_stale_or_future_timestamps_are_refused(queue: RecordingQueue, skew: int) -> None:
    assert call(make_endpoint(queue), {"type": 1}, timestamp=NOW + skew)[0] == 401


@pytest.mark.parametrize("skew", [-300, -299, 0, 299, 300])
def test_timestamps_inside_the_window_pass(queue: RecordingQueue, skew: int) -> None:
    assert MAX_CLOCK_SKEW_SECONDS == 300
    assert call(make_endpoint(queue), {"type": 1}, timestamp=NOW + skew)[0] == 200


@pytest.mark.parametrize(
    ("seconds_since_signing", "fresh"),
    [(-300.0, True), (300.0, True), (300.25, False), (-300.25, False), (-301.0, False), (301.0, False)],
)
def test_the_window_edge_is_exact_on_a_fractional_clock(seconds_since_signing: float, fresh: bool) -> None:
    body = json.dumps({"type": 1}).encode()
    headers = {name.lower(): value for name, value in signed_headers(body, timestamp=NOW).items()}
    clock = lambda: NOW + seconds_since_signing  # noqa: E731
    if fresh:
        verify_request(headers, body, TEST_PUBLIC_KEY, now=clock)
    else:
        with pytest.raises(SignatureRejected, match="freshness window"):
            verify_request(headers, body, TEST_PUBLIC_KEY, now=clock)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.pop("x-signature-ed25519"),
        lambda h: h.pop("x-signature-timestamp"),
        lambda h: h.update({"x-signature-ed25519": "00" * 64}),
        lambda h: h.update({"x-signature-ed25519": "not-hex"}),
        lambda h: h.update({"x-signature-timestamp": "yesterday"}),
        lambda h: h.update({"x-signature-timestamp": str(NOW + 1)}),  # signature was over another timestamp
    ],
)
def test_missing_or_bad_signatures_get_401_and_enqueue_nothing(queue: RecordingQueue, mangle: Any) -> None:
    body = json.dumps(interaction(2, {"name": "mycases"})).encode()
    event = http_event(body, signed_headers(body, timestamp=NOW))
    mangle(event["headers"])
    assert make_endpoint(queue).handle(event)["statusCode"] == 401
    assert queue.jobs == []


def test_a_tampered_body_is_refused(queue: RecordingQueue) -> None:
    body = json.dumps(interaction(2, {"name": "mycases"})).encode()
    event = http_event(body.replace(b"alice", b"mallory"), signed_headers(body, timestamp=NOW))
    assert make_endpoint(queue).handle(event)["statusCode"] == 401


def test_malformed_json_gets_400(queue: RecordingQueue) -> None:
    assert call(make_endpoint(queue), b"{not json")[0] == 400


def test_invalid_base64_gets_400(queue: RecordingQueue) -> None:
    event = http_event(b"x", {})
    event.update(body="%%%", isBase64Encoded=True)
    assert make_endpoint(queue).handle(event)["statusCode"] == 400


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        3,
        {"type": "2"},
        {"type": 2},
        {"type": 2, "user": {"id": "1"}},
        {"type": 2, "data": {}, "user": {}},
    ],
)
def test_json_that_is_not_an_interaction_gets_400(queue: RecordingQueue, payload: Any) -> None:
    assert call(make_endpoint(queue), payload)[0] == 400


def test_no_signed_input_however_malformed_produces_a_500(queue: RecordingQueue) -> None:
    generator = random.Random(7)
    pieces: list[Any] = [
        None,
        0,
        -1,
        "",
        "x" * 5000,
        [],
        {},
        {"name": 5},
        {"custom_id": None},
        {"components": [1]},
    ]
    endpoint = make_endpoint(queue)
    for _ in range(300):
        payload = interaction(generator.choice([1, 2, 3, 4, 5, 99]), generator.choice(pieces[5:]))
        for key in generator.sample(sorted(payload), k=generator.randint(0, 3)):
            payload[key] = generator.choice(pieces)
        status, _ = call(endpoint, payload)
        assert status in (200, 400), payload
    for _ in range(100):
        assert call(endpoint, generator.randbytes(generator.randint(0, 64)), base64_body=True)[0] in (
            400,
            200,
        )


def test_bug_opens_a_modal_within_discords_limits(queue: RecordingQueue) -> None:
    status, answer = call(make_endpoint(queue), interaction(2, {"name": "bug", "type": 1}))
    assert status == 200
    assert answer["type"] == 9
    modal = answer["data"]
    assert modal["custom_id"] == "case:bug"
    assert len(modal["title"]) <= 45
    assert 1 <= len(modal["components"]) <= 5
    assert all(component["type"] == 18 and len(component["label"]) <= 45 for component in modal["components"])
    inner = [component["component"] for component in modal["components"]]
    assert [c["type"] for c in inner] == [4, 4, 4, 4, 19]
    assert all(1 <= len(c["custom_id"]) <= 100 for c in inner)
    assert all(c["max_length"] <= 4000 for c in inner if c["type"] == 4)
    assert queue.jobs == []


def test_new_feature_opens_its_modal(queue: RecordingQueue) -> None:
    _, answer = call(make_endpoint(queue), interaction(2, {"name": "new_feature", "type": 1}))
    assert answer["type"] == 9
    assert [c["component"]["custom_id"] for c in answer["data"]["components"]] == [
        "title",
        "problem",
        "proposal",
    ]


def test_a_bug_submission_is_deferred_ephemerally_and_queued_for_the_member(queue: RecordingQueue) -> None:
    status, answer = call(make_endpoint(queue), interaction(5, bug_submission()))
    assert (status, answer) == (200, {"type": 5, "data": {"flags": 64}})
    [job] = queue.jobs
    assert job.kind is JobKind.CREATE_CASE
    assert (job.group, job.key) == ("111", "1300000000000000001")
    draft = job.payload["draft"]
    assert draft["title"] == "Raid lobby freezes"
    assert [s["label"] for s in draft["sections"]] == [
        "What happened?",
        "Steps to reproduce",
        "Expected vs actual",
    ]
    assert job.interaction.token == "interaction-token"


def test_a_screenshot_upload_travels_with_the_job(queue: RecordingQueue) -> None:
    data = bug_submission()
    data["components"].append(
        {"type": 18, "id": 9, "component": {"type": 19, "custom_id": "screenshot", "values": ["77"]}}
    )
    data["resolved"] = {
        "attachments": {
            "77": {
                "id": "77",
                "filename": "s.png",
                "content_type": "image/png",
                "size": 10,
                "url": "https://cdn/s.png",
            }
        }
    }
    call(make_endpoint(queue), interaction(5, data))
    [attachment] = queue.jobs[0].payload["draft"]["attachments"]
    assert attachment["source_url"] == "https://cdn/s.png"
    assert attachment["content_type"] == "image/png"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": "   "}, "Title"),
        ({"what_happened": "x" * 1001}, "limited to 1000"),
    ],
)
def test_an_invalid_submission_is_explained_and_changes_nothing(
    queue: RecordingQueue, change: dict[str, str], reason: str
) -> None:
    status, answer = call(make_endpoint(queue), interaction(5, bug_submission(**change)))
    assert status == 200
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64
    assert reason in answer["data"]["content"]
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    assert queue.jobs == []


def test_a_non_image_screenshot_is_refused(queue: RecordingQueue) -> None:
    data = bug_submission()
    data["components"].append(
        {"type": 18, "component": {"type": 19, "custom_id": "screenshot", "values": ["7"]}}
    )
    data["resolved"] = {
        "attachments": {"7": {"filename": "a.exe", "content_type": "application/x-msdownload", "url": "u"}}
    }
    _, answer = call(make_endpoint(queue), interaction(5, data))
    assert "must be an image" in answer["data"]["content"]
    assert queue.jobs == []


def test_an_unknown_command_gets_an_ephemeral_explanation(queue: RecordingQueue) -> None:
    status, answer = call(make_endpoint(queue), interaction(2, {"name": "dance"}))
    assert status == 200
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64
    assert "/dance" in answer["data"]["content"]


def test_mycases_and_case_are_queued_with_what_was_asked(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)
    call(endpoint, interaction(2, {"name": "mycases"}))
    call(
        endpoint,
        interaction(2, {"name": "case", "options": [{"name": "number", "type": 4, "value": 12}]}, id="2"),
    )
    assert [(j.kind, j.payload) for j in queue.jobs] == [
        (JobKind.LIST_CASES, {}),
        (JobKind.SHOW_CASE, {"number": 12}),
    ]
    assert queue.jobs[1].interaction.roles == ("5",)


@pytest.mark.parametrize("value", [0, -3, "12", True, None])
def test_case_with_a_bad_number_is_explained(queue: RecordingQueue, value: Any) -> None:
    _, answer = call(
        make_endpoint(queue),
        interaction(2, {"name": "case", "options": [{"name": "number", "value": value}]}),
    )
    assert answer["type"] == 4
    assert queue.jobs == []


def test_a_show_case_button_is_queued_and_a_forged_one_is_rejected(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)
    assert call(endpoint, interaction(3, {"custom_id": "case:show:7", "component_type": 2}))[1]["type"] == 5
    assert queue.jobs[0].payload == {"number": 7}
    assert (
        call(endpoint, interaction(3, {"custom_id": "case:show:../1", "component_type": 2}))[1]["type"] == 4
    )
    assert call(endpoint, interaction(3, {"custom_id": "nope", "component_type": 2}))[1]["type"] == 4
    assert len(queue.jobs) == 1


def test_a_dm_interaction_reads_the_user_field(queue: RecordingQueue) -> None:
    payload = interaction(2, {"name": "mycases"})
    del payload["member"], payload["guild_id"]
    payload["user"] = {"id": "333", "username": "carol"}
    call(make_endpoint(queue), payload)
    assert queue.jobs[0].interaction.user_id == "333"
    assert queue.jobs[0].interaction.roles == ()


def test_when_the_queue_is_down_the_member_is_asked_to_retry(queue: RecordingQueue) -> None:
    queue.fail = True
    status, answer = call(make_endpoint(queue), interaction(2, {"name": "mycases"}))
    assert status == 200
    assert answer["type"] == 4
    assert "try again" in answer["data"]["content"]


def test_a_bug_in_a_route_becomes_an_apology_not_a_500(
    queue: RecordingQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(case_forms, "draft_from_submission", broken)
    status, answer = call(make_endpoint(queue), interaction(5, bug_submission()))
    assert status == 200
    assert "went wrong" in answer["data"]["content"]


def test_real_clock_is_used_by_default() -> None:
    # Far from the window's edges (the exact edges are tested on an injected clock above): signed
    # just now passes, signed an hour ago or an hour ahead is refused, whatever the machine's load.
    endpoint = InteractionsEndpoint(public_key=TEST_PUBLIC_KEY, queue=RecordingQueue)
    body = json.dumps({"type": 1}).encode()

    def status(signed_at: int) -> Any:
        return endpoint.handle(http_event(body, signed_headers(body, timestamp=signed_at)))["statusCode"]

    now = int(time.time())
    assert status(now) == 200
    assert status(now - 3600) == 401
    assert status(now + 3600) == 401


def test_absurdly_nested_json_gets_400_not_a_500(queue: RecordingQueue) -> None:
    assert call(make_endpoint(queue), b"[" * 100_000 + b"]" * 100_000)[0] == 400


@pytest.mark.parametrize("body", [5, {"type": 1}, ["x"]])
def test_an_event_whose_body_is_not_a_string_gets_400(queue: RecordingQueue, body: Any) -> None:
    event = http_event(b"{}", {})
    event["body"] = body
    assert make_endpoint(queue).handle(event)["statusCode"] == 400
