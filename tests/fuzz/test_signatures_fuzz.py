"""The signature matrix: for each endpoint, a genuine request is accepted (the control) and every
forgery of it is refused, with nothing queued. Discord: forged, a bit of the body or of the
signature flipped, another key, replayed after the window, stale, from the future, the timestamp
changed, headers missing. Twilio: forged, a bit flipped, another auth token, signed for another
URL, a parameter dropped, added or changed, the body hash dropped or another body's, the
signature missing. Twilio signs no timestamp, so a replay is accepted at the door and must come
back under the original's deduplication key."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from hypothesis import given, settings
from nacl.signing import SigningKey

from flexcord.interactions.access import ServerAllowList
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.interactions.signature import MAX_CLOCK_SKEW_SECONDS
from tests.fuzz.harness import (
    CHATBOT,
    CONVERSATION_EVENTS,
    INTERACTIONS,
    TALLY,
    SqsLikeQueue,
    exercise,
    record_attack,
)
from tests.fuzz.strategies import (
    ALLOWED_GUILD,
    CUSTOM_DOMAIN_BASE,
    KNOWN_CONVERSATION,
    MEMBER_IDENTITY,
    NOW,
    body_hash_query,
    conversation_sids,
    discord_headers,
    envelope,
    form_body,
    interactions,
    json_body,
    seeds,
    twilio_event_params,
    twilio_signature,
    twilio_url,
)
from tests.fuzz.test_twilio_fuzz import FORM, chatbot_world, events_endpoint
from tests.support.signing import TEST_PUBLIC_KEY

FUZZ = settings.get_profile("flexcord-fuzz")
DISCORD_PATH = "/discord/interactions"
EVENTS_PATH, CHATBOT_PATH = "/flexcord/twilio/conversation-events", "/flexcord/twilio/chatbot"


def flip_bit(data: bytes, rng: random.Random) -> bytes:
    flipped = bytearray(data or b"\0")
    flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def flip_char_bit(text: str, rng: random.Random) -> str:
    index = rng.randrange(len(text))
    return text[:index] + chr(ord(text[index]) ^ (1 << rng.randrange(7))) + text[index + 1 :]


# ---------------------------------------------------------------- Discord


def discord_endpoint(now: float) -> tuple[InteractionsEndpoint, SqsLikeQueue]:
    queue = SqsLikeQueue()
    endpoint = InteractionsEndpoint(
        public_key=TEST_PUBLIC_KEY,
        queue=lambda: queue,
        clock=lambda: now,
        servers=ServerAllowList.of([ALLOWED_GUILD]),
    )
    return endpoint, queue


def discord_attacks(body: bytes, rng: random.Random) -> dict[str, tuple[bytes, dict[str, str], float]]:
    """Each attack: the body sent, its headers, and the endpoint's clock when it arrives."""
    genuine = discord_headers(body)
    outside = MAX_CLOCK_SKEW_SECONDS + 1 + rng.randint(0, 86_400)
    other_key = SigningKey(rng.randbytes(32))
    signature = bytes.fromhex(genuine["x-signature-ed25519"])
    missing = dict(genuine)
    for name in rng.sample(["x-signature-ed25519", "x-signature-timestamp"], rng.randint(1, 2)):
        del missing[name]
    return {
        "forged": (body, {**genuine, "x-signature-ed25519": rng.randbytes(64).hex()}, NOW),
        "body bit flipped": (flip_bit(body, rng), genuine, NOW),
        "signature bit flipped": (
            body,
            {**genuine, "x-signature-ed25519": flip_bit(signature, rng).hex()},
            NOW,
        ),
        "wrong key": (body, discord_headers(body, key=other_key), NOW),
        "replayed after the window": (body, genuine, NOW + outside),
        "stale": (body, discord_headers(body, timestamp=NOW - outside), NOW),
        "from the future": (body, discord_headers(body, timestamp=NOW + outside), NOW),
        "timestamp changed": (
            body,
            {**genuine, "x-signature-timestamp": str(NOW + rng.choice([-1, 1]))},
            NOW,
        ),
        "signature missing": (body, missing, NOW),
    }


@settings(FUZZ)
@given(payload=interactions(mutate=False), seed=seeds)
def test_every_forgery_of_a_discord_interaction_is_refused(payload: Any, seed: int) -> None:
    rng = random.Random(seed)
    body = json_body(payload, rng)
    endpoint, _ = discord_endpoint(NOW)
    control, _ = exercise(
        INTERACTIONS, endpoint.handle, envelope(body, discord_headers(body), rng, path=DISCORD_PATH)
    )
    assert control != 401  # genuine and fresh: read, whatever it says
    for attack, (sent, headers, now) in discord_attacks(body, rng).items():
        endpoint, queue = discord_endpoint(now)
        status, _ = exercise(INTERACTIONS, endpoint.handle, envelope(sent, headers, rng, path=DISCORD_PATH))
        refused = status == 401 and queue.jobs == []
        record_attack(INTERACTIONS, attack, rejected=refused)
        assert refused, attack


# ---------------------------------------------------------------- Twilio

Handler = Callable[[Any], dict[str, Any]]
Signed = tuple[bytes, str, str]  # the body, the X-Twilio-Signature, the URL called

WRONG_URLS: tuple[Callable[[str], str], ...] = (
    lambda url: url.replace("support.example.com", "elsewhere.example"),
    lambda url: url.replace("/flexcord/", "/flexcord/flexcord/"),  # the base path doubled
    lambda url: url.replace("/flexcord/", "/"),  # the base path dropped
    lambda url: url.replace("https://", "http://"),
    lambda url: url.replace("/twilio/", "/twilio/v2/"),
    lambda url: url + ("&" if "?" in url else "?") + "x=1",
)


def form_attacks(url: str, params: dict[str, str], rng: random.Random) -> dict[str, Signed]:
    """Each attack on a signed form post: the body sent, the signature, the URL called."""
    genuine = twilio_signature(url, params)
    body = form_body(params)
    name = rng.choice(sorted(params))
    changed = {**params, name: params[name] + rng.choice(["x", " ", "0"])}
    attacks = {
        "forged": (body, base64.b64encode(rng.randbytes(20)).decode(), url),
        "signature bit flipped": (body, flip_char_bit(genuine, rng), url),
        "wrong key": (body, twilio_signature(url, params, token="someone-elses-token"), url),
        "signed for another URL": (body, twilio_signature(rng.choice(WRONG_URLS)(url), params), url),
        "parameter dropped": (form_body({k: v for k, v in params.items() if k != name}), genuine, url),
        "parameter added": (form_body({**params, "Injected": "1"}), genuine, url),
        "parameter changed": (form_body(changed), genuine, url),
        "signature missing": (body, "", url),
    }
    flipped = flip_bit(body, rng)
    if dict(parse_qsl(flipped.decode("utf-8", "replace"), keep_blank_values=True)) != params:
        attacks["body bit flipped"] = (flipped, genuine, url)  # (a flip of %2C to %2c is no change)
    return attacks


def send_signed(
    name: str, handler: Handler, request: Signed, rng: random.Random, *, json: bool = False
) -> int:
    """POST a signed request to the custom domain, as a form or as JSON."""
    body, signature, url = request
    path, _, query = url.removeprefix("https://support.example.com").partition("?")
    headers = {"x-twilio-signature": signature, "content-type": "application/json" if json else FORM}
    status, _ = exercise(name, handler, envelope(body, headers, rng, path=path, query=query))
    return status


@settings(FUZZ)
@given(params=twilio_event_params(), sid=conversation_sids, seed=seeds)
def test_every_forgery_of_a_conversation_event_is_refused(
    params: dict[str, str], sid: str, seed: int
) -> None:
    rng = random.Random(seed)
    params = {**params, "EventType": "onMessageAdded", "ConversationSid": sid}
    url = twilio_url(CUSTOM_DOMAIN_BASE, EVENTS_PATH)
    genuine = (form_body(params), twilio_signature(url, params), url)
    endpoint, queue = events_endpoint(CUSTOM_DOMAIN_BASE)
    assert send_signed(CONVERSATION_EVENTS, endpoint.handle, genuine, rng) == 200
    # No timestamp is signed: the replay gets in, and must be deduplicated as the original.
    assert send_signed(CONVERSATION_EVENTS, endpoint.handle, genuine, rng) == 200
    first, replay = queue.jobs
    TALLY.replays[CONVERSATION_EVENTS] += 1
    TALLY.replays_deduplicated[CONVERSATION_EVENTS] += first.key == replay.key
    assert first.key == replay.key
    for attack, forged in form_attacks(url, params, rng).items():
        endpoint, queue = events_endpoint(CUSTOM_DOMAIN_BASE)
        status = send_signed(CONVERSATION_EVENTS, endpoint.handle, forged, rng)
        refused = 400 <= status < 500 and queue.jobs == []
        record_attack(CONVERSATION_EVENTS, attack, rejected=refused)
        assert refused, attack


def json_attacks(url: str, body: bytes, rng: random.Random) -> dict[str, Signed]:
    """Each attack on Studio's signed JSON: the body sent, the signature, the URL called."""
    signed_url = f"{url}?{body_hash_query(body)}"
    genuine = twilio_signature(signed_url)
    other_body = body.replace(b"raid", b"RAID") if b"raid" in body else body + b" "
    return {
        "forged": (body, base64.b64encode(rng.randbytes(20)).decode(), signed_url),
        "body bit flipped": (flip_bit(body, rng), genuine, signed_url),
        "signature bit flipped": (body, flip_char_bit(genuine, rng), signed_url),
        "wrong key": (body, twilio_signature(signed_url, token="someone-elses-token"), signed_url),
        "signed for another URL": (body, twilio_signature(rng.choice(WRONG_URLS)(signed_url)), signed_url),
        "body hash dropped": (body, twilio_signature(url), url),
        "another body's hash": (other_body, genuine, signed_url),
        "signature missing": (body, "", signed_url),
    }


def send_json(
    handler: Callable[[Any], dict[str, Any]], body: bytes, signature: str, url: str, rng: random.Random
) -> int:
    path, _, query = url.removeprefix("https://support.example.com").partition("?")
    headers = {"x-twilio-signature": signature, "content-type": "application/json"}
    status, _ = exercise(CHATBOT, handler, envelope(body, headers, rng, path=path, query=query))
    return status


STUDIO_MESSAGES = ("my raid pass vanished", "can I talk to a human", "what's the weather", "that didn't help")


@settings(FUZZ)
@given(seed=seeds)
def test_every_forgery_of_a_studio_request_is_refused(seed: int) -> None:
    rng = random.Random(seed)
    url = twilio_url(CUSTOM_DOMAIN_BASE, CHATBOT_PATH)
    message = {
        "conversation_sid": KNOWN_CONVERSATION,
        "message_sid": "IM" + rng.randbytes(16).hex(),
        "author": MEMBER_IDENTITY,
        "body": rng.choice(STUDIO_MESSAGES),
    }
    as_json = rng.random() < 0.5
    if as_json:
        body = json_body(message, rng)
        signed_url = f"{url}?{body_hash_query(body)}"
        genuine: Signed = (body, twilio_signature(signed_url), signed_url)
        attacks = json_attacks(url, body, rng)
    else:
        genuine = (form_body(message), twilio_signature(url, message), url)
        attacks = form_attacks(url, message, rng)
    endpoint, queue = chatbot_world(CUSTOM_DOMAIN_BASE)
    assert send_signed(CHATBOT, endpoint.handle, genuine, rng, json=as_json) == 200
    # A replay: the same deduplication key, so SQS drops it.
    assert send_signed(CHATBOT, endpoint.handle, genuine, rng, json=as_json) == 200
    if queue.jobs:
        TALLY.replays[CHATBOT] += 1
        TALLY.replays_deduplicated[CHATBOT] += len({job.key for job in queue.jobs}) == 1
        assert len({job.key for job in queue.jobs}) == 1
    for attack, forged in attacks.items():
        endpoint, queue = chatbot_world(CUSTOM_DOMAIN_BASE)
        status = send_signed(CHATBOT, endpoint.handle, forged, rng, json=as_json)
        refused = 400 <= status < 500 and queue.jobs == []
        record_attack(CHATBOT, attack, rejected=refused)
        assert refused, attack
