"""Hypothesis strategies for what the public endpoints receive: Discord interactions of every type
and Twilio webhooks, structured enough to get past the signature (they are validly signed) and
then broken in every way a field can be (missing, wrong type, odd value), wrapped in API Gateway
events with odd headers and either body encoding."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from flexcord.interactions import custom_ids as ids
from flexcord.twilio_webhooks.conversation_events import EVENT_FIELDS
from tests.support.signing import TEST_SIGNING_KEY

NOW = 1_790_000_000
ALLOWED_GUILD, STRANGER_GUILD = "900000000000000000", "666000000000000000"
TWILIO_TOKEN = "fuzz-twilio-auth-token"
CUSTOM_DOMAIN_BASE = "https://support.example.com/flexcord"
API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
KNOWN_CONVERSATION = "CH" + "a1" * 16
MEMBER_IDENTITY = "member_5f2c"

# ---------------------------------------------------------------- values
# Every strategy is built once, here: building them inside a draw costs more than drawing.

text = st.text(max_size=40)
# Long texts are a short text repeated: Hypothesis draws text a character at a time, and lengths
# around the limits (1,000, 1,500, 2,000, 4,000 characters) matter more than their content.
long_text = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda piece, times: (piece or "x") * times, st.text(min_size=1, max_size=12), st.integers(0, 600)
    ),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=6,
)
# What a member would type: enough for every form field to pass its checks.
sensible_text = st.sampled_from(
    ["Raid lobby freezes", "It froze after the countdown", "1. Join a raid\n2. Wait", "Trade history ✨"]
)
random_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda piece, times: piece * times, st.binary(min_size=1, max_size=16), st.integers(0, 400)),
)
snowflakes = st.integers(min_value=10**16, max_value=2**63 - 1).map(str)
booleans = st.booleans()
one_in_thirty = st.integers(0, 29)


def sid(prefix: str) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda tail: prefix + tail)


def rarely(draw: st.DrawFn) -> bool:
    """True about one time in thirty. (Hypothesis favours the ends of a range, so not an end.)"""
    return bool(draw(one_in_thirty) == 13)


def maybe_wrong(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value, sometimes any JSON value at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


# ---------------------------------------------------------------- Discord

COMMANDS = ("helpme", "reply", "agent", "endchat", "bug", "new_feature", "mycases", "case")
BUTTONS = (
    ids.REPLY_BUTTON,
    ids.TALK_TO_HUMAN_BUTTON,
    ids.END_CHAT_BUTTON,
    ids.END_CHAT_CONFIRM,
    ids.END_CHAT_CANCEL,
    ids.HELPED_BUTTON,
)
ATTACHMENT_IDS = ("1111", "2222", "3333")

attachment_ids = st.sampled_from(ATTACHMENT_IDS)
attachment_fields = {
    "filename": maybe_wrong(st.sampled_from(["s.png", "screen shot.jpg", "ü.gif"]) | text),
    "content_type": maybe_wrong(st.sampled_from(["image/png", "image/webp", "application/pdf", ""])),
    "size": maybe_wrong(st.integers(min_value=0, max_value=30 * 1024 * 1024)),
    "url": maybe_wrong(st.sampled_from(["https://cdn.discordapp.com/a/1/s.png", ""])),
}
attachment_lists = st.lists(attachment_ids, max_size=3, unique=True)
option = st.fixed_dictionaries(
    {
        "name": maybe_wrong(st.sampled_from(("question", "message", "attachment", "number"))),
        "type": maybe_wrong(st.sampled_from([3, 4, 11])),
        "value": st.one_of(long_text, st.integers(-5, 10**6), attachment_ids, json_values),
    }
)
# Discord sends only registered names (at most 32 characters).
command_names = st.one_of(st.sampled_from(COMMANDS), st.text(min_size=1, max_size=32))
button_ids = st.one_of(
    st.sampled_from(BUTTONS),
    st.integers(-3, 10**12).map(lambda n: f"{ids.SHOW_CASE_BUTTON_PREFIX}{n}"),
    # Numbers that are not ASCII digits, or too many of them.
    st.sampled_from(["²", "١٢", "007", "9" * 40, "1e3", " 1", "0"]).map(
        lambda n: ids.SHOW_CASE_BUTTON_PREFIX + n
    ),
    st.text(max_size=90).map(lambda tail: ids.SHOW_CASE_BUTTON_PREFIX + tail),
    st.text(min_size=1, max_size=100),
)
form_component = st.fixed_dictionaries(
    {
        "type": st.sampled_from([4, 19, 3]),
        "custom_id": maybe_wrong(
            st.sampled_from(
                (
                    "title",
                    "what_happened",
                    "steps",
                    "expected_actual",
                    "problem",
                    "proposal",
                    "screenshot",
                    "message",
                )
            )
        ),
        "value": maybe_wrong(st.one_of(sensible_text, long_text)),
        "values": maybe_wrong(st.lists(attachment_ids, max_size=2)),
    }
)
complete_forms = st.sampled_from(
    [
        None,
        ("case:bug", ("title", "what_happened", "steps", "expected_actual")),
        ("case:feature", ("title", "problem", "proposal")),
        (ids.REPLY_MODAL, ("message",)),
    ]
)
form_values = st.one_of(sensible_text, sensible_text, long_text)
modal_ids = st.one_of(
    st.sampled_from(("case:bug", "case:feature", ids.REPLY_MODAL)), st.text(min_size=1, max_size=100)
)
interaction_types = st.sampled_from([2, 2, 3, 5, 5, 1, 4])
odd_interaction_types = st.integers(-3, 40)
tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789_.-", min_size=1, max_size=90)
locales = st.sampled_from(["en-US", "en-GB", "fr", "pt-BR", "ja"])
places = st.sampled_from(["allowed", "allowed", "stranger", "dm"])
usernames = st.text(min_size=1, max_size=32)
global_names = st.none() | st.text(max_size=32)
role_lists = st.lists(snowflakes, max_size=3)
up_to = {n: st.integers(0, n) for n in (3, 4, 6)}


@st.composite
def attachments(draw: st.DrawFn) -> dict[str, Any]:
    return {
        attachment_id: {
            "id": attachment_id,
            **{name: draw(value) for name, value in attachment_fields.items()},
        }
        for attachment_id in draw(attachment_lists)
    }


@st.composite
def command_data(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(snowflakes),
        "name": draw(command_names),
        "type": 1,
        "options": [draw(option) for _ in range(draw(up_to[3]))],
        "resolved": {"attachments": draw(attachments())},
    }


@st.composite
def component_data(draw: st.DrawFn) -> dict[str, Any]:
    return {"custom_id": draw(button_ids), "component_type": 2, "values": []}


@st.composite
def modal_data(draw: st.DrawFn) -> dict[str, Any]:
    """A form submission: one of Flexcord's forms complete (as the client sends it), or any
    components at all under any custom_id."""
    form = draw(complete_forms)
    if form is None:
        custom_id, inners = draw(modal_ids), [draw(form_component) for _ in range(draw(up_to[6]))]
    else:
        custom_id, fields = form
        inners = [{"type": 4, "custom_id": name, "value": draw(form_values)} for name in fields]
        if custom_id == "case:bug" and draw(booleans):
            inners.append({"type": 19, "custom_id": "screenshot", "values": draw(attachment_lists)})
    # Each in the Label layout (type 18) or the older action row.
    components = [
        {"type": 18, "id": index, "component": inner}
        if draw(booleans)
        else {"type": 1, "components": [inner]}
        for index, inner in enumerate(inners)
    ]
    return {
        "custom_id": custom_id,
        "components": components,
        "resolved": {"attachments": draw(attachments())},
    }


@st.composite
def autocomplete_data(draw: st.DrawFn) -> dict[str, Any]:
    focused = {"name": "number", "type": 4, "value": draw(json_scalars), "focused": True}
    return {"id": draw(snowflakes), "name": draw(command_names), "type": 1, "options": [focused]}


DATA_BY_TYPE: dict[int, st.SearchStrategy[dict[str, Any]]] = {
    2: command_data(),
    3: component_data(),
    4: autocomplete_data(),
    5: modal_data(),
}


@st.composite
def interactions(draw: st.DrawFn, *, mutate: bool = True) -> Any:
    """An interaction payload of any type, from the allowed server, a stranger's, or a DM; with
    ``mutate``, up to four of its fields then dropped or replaced by a value of any type."""
    # Mostly the types Discord sends, commands and forms most; sometimes one it does not.
    kind = draw(odd_interaction_types) if rarely(draw) else draw(interaction_types)
    payload: dict[str, Any] = {
        "id": draw(snowflakes),
        "application_id": "1200000000000000000",
        "type": kind,
        "token": draw(tokens),
        "version": 1,
        "channel_id": draw(snowflakes),
        "locale": draw(locales),
        "app_permissions": "0",
    }
    if kind in DATA_BY_TYPE:
        payload["data"] = draw(DATA_BY_TYPE[kind])
    user: dict[str, Any] = {
        "id": draw(snowflakes),
        "username": draw(usernames),
        "global_name": draw(global_names),
    }
    place = draw(places)
    if place == "dm":
        payload.update(user=user, context=1)
    else:
        guild = ALLOWED_GUILD if place == "allowed" else STRANGER_GUILD
        payload.update(
            guild_id=guild, context=0, member={"user": user, "roles": draw(role_lists), "nick": None}
        )
    if mutate:
        for _ in range(draw(up_to[4])):
            _break_a_field(draw, payload)
    return draw(json_values) if rarely(draw) else payload  # rarely not an object at all


def _break_a_field(draw: st.DrawFn, payload: dict[str, Any]) -> None:
    # Reversed: Hypothesis favours the first choice, and breaking the id first every time would
    # stop most payloads at the parser.
    paths = list(_paths(payload))[::-1]
    if not paths:
        return
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    if draw(booleans) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Any:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*prefix, key)
        yield from _paths(inner, (*prefix, key))


def discord_headers(
    body: bytes, *, timestamp: int = NOW, key: SigningKey = TEST_SIGNING_KEY
) -> dict[str, str]:
    stamp = str(timestamp)
    signature = key.sign(stamp.encode() + body).signature.hex()
    return {
        "x-signature-ed25519": signature,
        "x-signature-timestamp": stamp,
        "content-type": "application/json",
    }


# ---------------------------------------------------------------- API Gateway events

HEADER_CASES = (str.lower, str.upper, str.title)
UNRELATED_HEADERS = ("user-agent", "x-forwarded-for", "content-length", "host", "x-amzn-trace-id", "accept")


def envelope(
    body: bytes,
    headers: dict[str, str],
    rng: random.Random,
    *,
    path: str,
    query: str = "",
    domain: str = API_HOST,
) -> dict[str, Any]:
    """An HTTP API (2.0) event carrying exactly ``body`` and ``headers`` (names in any case,
    with a few unrelated headers), the body base64-encoded or not as API Gateway chooses."""
    case = rng.choice(HEADER_CASES)
    sent = {rng.choice(UNRELATED_HEADERS): rng.choice(ODD_STRINGS) for _ in range(rng.randint(0, 3))}
    sent.update({case(name): value for name, value in headers.items()})
    try:
        text_body = body.decode("utf-8")
        encode = rng.random() < 0.5
    except UnicodeDecodeError:
        text_body, encode = "", True
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": {
            "domainName": domain,
            "http": {"method": "POST", "path": path, "sourceIp": "192.0.2.1"},
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode() if encode else text_body,
        "isBase64Encoded": encode,
    }


# ---------------------------------------------------------------- cheap variants
# Each generated example fans out into a few more requests, varied by a random.Random seeded from
# the example: Hypothesis spends milliseconds drawing a structure, the endpoint a fraction of
# one answering it, so variants multiply the requests a run sends without multiplying its time.

seeds = st.integers(0, 2**32 - 1)
ODD_STRINGS = (
    "",
    " ",
    "0",
    "-1",
    "null",
    "x" * 2100,
    "é" * 1001,
    "\u0000",
    "\ud7ff\ue000",
    "%",
    "a=b&c",
    "😀" * 10,
)
ODD_VALUES: tuple[Any, ...] = (
    *ODD_STRINGS,
    None,
    True,
    False,
    0,
    -1,
    2**70,
    1.5e308,
    [],
    [None],
    {},
    {"a": {"b": [1, "2"]}},
)


def copy_of(value: Any) -> Any:
    return json.loads(json.dumps(value))


def scrambled(value: Any, rng: random.Random, *, breaks: int) -> Any:
    """A copy of a JSON value with ``breaks`` of its fields dropped or replaced by odd values."""
    copy = copy_of(value)
    for _ in range(breaks):
        paths = list(_paths(copy))
        if not paths:
            break
        path = rng.choice(paths)
        parent: Any = copy
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.5:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy_of(rng.choice(ODD_VALUES))  # never shared: it may be broken next
    return copy


def scrambled_form(params: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A copy of a form with a field dropped, added or changed to an odd string."""
    copy = dict(params)
    action = rng.choice(("drop", "add", "change", "change"))
    if action == "drop" and copy:
        del copy[rng.choice(sorted(copy))]
    elif action == "add" or not copy:
        copy[rng.choice((*EVENT_FIELDS, "X", ""))] = rng.choice(ODD_STRINGS)
    else:
        copy[rng.choice(sorted(copy))] = rng.choice(ODD_STRINGS)
    return copy


def json_body(payload: Any, rng: random.Random) -> bytes:
    """The payload as a sender might serialise it: compact or not, escaped or raw UTF-8."""
    separators = rng.choice(((",", ":"), (", ", ": ")))
    return json.dumps(payload, ensure_ascii=rng.random() < 0.5, separators=separators).encode("utf-8")


EVENT_PARTS = ("headers", "body", "isBase64Encoded", "requestContext", "rawPath", "rawQueryString")


def odd_event(body: bytes, rng: random.Random, path: str) -> dict[str, Any]:
    """An event no client should be able to produce, but a test harness, `sam local` or a
    future API Gateway might: any part missing or of the wrong type."""
    event = envelope(body, {}, rng, path=path)
    for _ in range(rng.randint(1, 4)):
        event[rng.choice(EVENT_PARTS)] = rng.choice((*ODD_VALUES, "%%%not base64", {"http": None}))
    return event


# ---------------------------------------------------------------- Twilio

EVENT_TYPES = (
    "onMessageAdded",
    "onParticipantAdded",
    "onConversationStateUpdated",
    "onConversationUpdated",
    "onMessageUpdated",
)
conversation_sids = sid("CH")
message_sids = sid("IM")
_field_values: dict[str, st.SearchStrategy[str]] = {
    "EventType": st.sampled_from(EVENT_TYPES),
    "ConversationSid": conversation_sids,
    "MessageSid": message_sids,
    "ParticipantSid": sid("MB"),
    "Index": st.integers(0, 10**6).map(str),
    "Body": long_text,
    "Attributes": json_values.map(json.dumps),
    "Media": st.lists(
        st.fixed_dictionaries(
            {"Sid": sid("ME"), "Filename": text, "ContentType": text, "Size": st.integers()}
        ),
        max_size=2,
    ).map(json.dumps),
    "Source": st.sampled_from(["SDK", "API"]),
    "StateFrom": st.sampled_from(["active", "inactive"]),
    "StateTo": st.sampled_from(["closed", "inactive"]),
}
TWILIO_FIELD_VALUES = {
    name: st.one_of(_field_values.get(name, text), st.text(max_size=60))
    for name in ("EventType", *EVENT_FIELDS)
}
event_field_lists = st.lists(st.sampled_from(EVENT_FIELDS), max_size=8)
retry_counts = st.sampled_from(["0", "1"])
unknown_fields = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=80), max_size=4)


@st.composite
def twilio_event_params(draw: st.DrawFn) -> dict[str, str]:
    names = ["EventType", "ConversationSid", *draw(event_field_lists)]
    params = {name: draw(TWILIO_FIELD_VALUES[name]) for name in names}
    params.update(AccountSid="AC" + "0" * 32, RetryCount=draw(retry_counts))
    params.update(draw(unknown_fields))
    for _ in range(draw(up_to[3]) // 2):  # sometimes a field is missing
        params.pop(sorted(params)[draw(st.integers(0, len(params) - 1))])
    return params


def twilio_url(base: str | None, path: str, query: str = "", domain: str = API_HOST) -> str:
    """What the endpoint must rebuild: the public origin (or the API host), rawPath, query."""
    origin = "/".join(base.split("/")[:3]) if base else f"https://{domain}"
    return origin + path + (f"?{query}" if query else "")


def twilio_signature(url: str, params: dict[str, str] | None = None, *, token: str = TWILIO_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params or {}))


# Where the Twilio endpoints are configured and how they are called: behind a custom domain with
# a base path (the mapping key stays in rawPath), or the API's own host.
TWILIO_DEPLOYMENTS = ((CUSTOM_DOMAIN_BASE, "/flexcord"), (None, ""))

chatbot_fields = {
    "conversation_sid": maybe_wrong(st.sampled_from([KNOWN_CONVERSATION]) | conversation_sids),
    "message_sid": maybe_wrong(message_sids),
    "author": maybe_wrong(st.sampled_from([MEMBER_IDENTITY, "flexcord", "agent_sam"])),
    "body": maybe_wrong(
        st.sampled_from(["my raid pass vanished", "talk to a human", "that didn't help", ""]) | long_text
    ),
    "attributes": maybe_wrong(
        st.sampled_from(['{"handoff": true}', "{}", "[1]", "{"]) | json_values.map(json.dumps)
    ),
}
chatbot_extras = st.dictionaries(st.text(max_size=12), json_values, max_size=3)


@st.composite
def chatbot_payloads(draw: st.DrawFn) -> Any:
    payload: dict[str, Any] = {name: draw(value) for name, value in chatbot_fields.items()}
    payload.update(draw(chatbot_extras))
    for _ in range(draw(up_to[3]) // 2):  # sometimes a field is missing
        payload.pop(sorted(payload)[draw(st.integers(0, len(payload) - 1))])
    return draw(json_values) if rarely(draw) else payload


def body_hash_query(body: bytes, extra: str = "") -> str:
    query = f"bodySHA256={hashlib.sha256(body).hexdigest()}"
    return f"{extra}&{query}" if extra else query


def form_body(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()
