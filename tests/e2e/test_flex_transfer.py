"""An agent transfers a chat back to the queue (from the console, as from Flex): the agent leaves,
the chat stays open for the member, and the next agent who accepts is introduced to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devstack.stack import LocalStack
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"MemberRateLimitPerMinute": 0}) as running:
        yield running


def dm(stack: LocalStack) -> str:
    assert stack.discord is not None
    return "\n".join(str(m.get("content") or "") for m in stack.discord.messages("dm:bob"))


def test_a_transferred_chat_waits_for_the_next_agent_who_is_introduced(stack: LocalStack) -> None:
    assert stack.discord is not None
    assert stack.twilio is not None
    assert stack.console is not None
    console = stack.console.base_url
    stack.discord.run_command("bob", "helpme", {"question": "my account is locked"}, channel="dm")
    wait_until(lambda: "support chat" in dm(stack))
    stack.discord.run_command("bob", "agent", None, channel="dm")
    first = wait_until(stack.twilio.tasks)[0]
    conversation = first["attributes"]["conversation_sid"]

    accepted = requests.post(f"{console}/api/tasks/{first['sid']}/accept", json={"name": "Sam"}, timeout=10)
    assert accepted.status_code == 200
    wait_until(lambda: "**Sam** joined the chat" in dm(stack))

    queued = requests.post(f"{console}/api/tasks/{first['sid']}/transfer", json={}, timeout=10).json()
    assert queued["sid"] != first["sid"]
    assert queued["assignment_status"] == "pending"
    assert queued["attributes"] == first["attributes"]  # the next agent sees the same member and case
    tasks = {task["sid"]: task for task in stack.twilio.tasks(include_closed=True)}
    assert tasks[first["sid"]]["assignment_status"] == "completed"
    assert stack.twilio.conversation(conversation)["state"] == "active"  # the chat goes on
    assert "agent_sam" not in {p["identity"] for p in stack.twilio.participants(conversation)}

    again = requests.post(f"{console}/api/tasks/{first['sid']}/transfer", json={}, timeout=10)
    assert again.status_code == 400  # only an accepted task moves
    assert "accept it first" in again.json()["error"]

    stack.twilio.accept(queued["sid"], agent="alex", friendly_name="Alex")
    wait_until(lambda: "**Alex** joined the chat" in dm(stack))
    stack.twilio.agent_say(queued["sid"], "Hi Bob, Alex here: unlocking it now.")
    wait_until(lambda: "Alex here: unlocking it now" in dm(stack))
