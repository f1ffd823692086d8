"""The console's HTTP interface over the running stack: what the page sends, what it gets back,
and that bad input is one clear error that changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import LocalStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"MemberRateLimitPerMinute": 0}) as running:
        yield running


@pytest.fixture
def console(stack: LocalStack) -> str:
    assert stack.console is not None
    return stack.console.base_url


def test_the_page_and_its_assets_are_served(console: str) -> None:
    page = requests.get(f"{console}/", timeout=10)
    assert page.status_code == 200
    assert "Flexcord local console" in page.text
    script = requests.get(f"{console}/static/console.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(f"{console}/static/..%2Fserver.py", timeout=10).status_code == 404
    assert requests.get(f"{console}/static/nothing.css", timeout=10).status_code == 404


def test_the_world_lists_members_servers_and_the_registered_commands(console: str) -> None:
    world = requests.get(f"{console}/api/world", params={"as": "alice"}, timeout=10).json()
    assert {"alice", "bob", "mod"} <= {member["username"] for member in world["members"]}
    assert [m["staff"] for m in world["members"] if m["username"] == "mod"] == [True]
    channels = {channel["name"] for channel in world["guilds"][0]["channels"]}
    assert {"general", "bug-report", "feature-request", "announcements"} <= channels
    commands = {command["name"]: command for command in world["commands"]}
    assert {"helpme", "bug", "case", "mycases"} <= set(commands)  # what the custom resource PUT
    assert any(option["type"] == 1 for option in commands["case"]["options"])  # with its subcommands


def test_a_command_answers_and_its_reply_is_rendered(console: str) -> None:
    answer = requests.post(
        f"{console}/api/command", json={"user": "bob", "name": "mycases", "channel": "general"}, timeout=30
    )
    assert answer.json() == {"ok": True}
    shown = requests.get(
        f"{console}/api/messages", params={"channel": "general", "as": "bob"}, timeout=10
    ).json()["html"]
    assert "Only you can see this" in shown  # /mycases answers privately
    hidden = requests.get(
        f"{console}/api/messages", params={"channel": "general", "as": "alice"}, timeout=10
    ).json()["html"]
    assert "Only you can see this" not in hidden  # and alice does not see bob's


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/api/command", {"name": "mycases"}, "choose who you are first"),
        ("/api/command", {"user": "alice", "name": "  "}, "type a command after the slash"),
        ("/api/command", {"user": "nobody", "name": "mycases"}, "nobody"),
        ("/api/click", {"user": "alice", "channel": "general", "message_id": "1", "custom_id": "x"}, "gone"),
        ("/api/modal", {"user": "alice"}, "no form to submit"),
        ("/api/members", {"username": "x"}, "2 to 32"),
        ("/api/members", {"username": "alice"}, "already a member"),
        ("/api/tasks/WTnotatask/accept", {"name": "Sam"}, "WTnotatask"),
        ("/api/tasks/WTnotatask/say", {"text": ""}, "write a message or attach a file"),
    ],
)
def test_bad_input_is_one_clear_error_that_changes_nothing(
    stack: LocalStack, console: str, path: str, body: dict[str, object], error: str
) -> None:
    assert stack.discord is not None
    before = stack.discord.state()["users"].keys(), len(stack.discord.requests)
    answer = requests.post(f"{console}{path}", json=body, timeout=10)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert (stack.discord.state()["users"].keys(), len(stack.discord.requests)) == before


def test_a_request_body_that_is_not_json_is_refused(console: str) -> None:
    answer = requests.post(f"{console}/api/command", data=b"{not json", timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"error": "the request body is not JSON"}


def test_the_event_stream_says_when_discord_changed(console: str) -> None:
    """The page redraws on these events: an action through Discord must produce one."""
    events: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with requests.get(f"{console}/api/events", stream=True, timeout=30) as stream:
            connected.set()
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("data:"):
                    events.extend(json.loads(line.removeprefix("data:")))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    requests.post(f"{console}/api/command", json={"user": "bob", "name": "mycases"}, timeout=30)
    listener.join(timeout=20)
    assert "discord" in events


def test_a_new_member_can_be_played(stack: LocalStack, console: str) -> None:
    added = requests.post(f"{console}/api/members", json={"username": "carol"}, timeout=10)
    assert added.status_code == 200
    world = requests.get(f"{console}/api/world", params={"as": "carol"}, timeout=10).json()
    assert "carol" in {member["username"] for member in world["members"]}
    assert world["guilds"][0]["member"] is True  # she joined the server
