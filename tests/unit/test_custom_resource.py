"""The slash-command custom resource always answers CloudFormation, and never blocks a delete."""

from __future__ import annotations

from typing import Any

import pytest

from flexcord.custom_resource import handle_event
from flexcord.interactions.commands import COMMANDS


class FakeDiscord:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.puts: list[tuple[list[dict[str, Any]], str | None]] = []

    def put_application_commands(
        self, commands: list[dict[str, Any]], *, guild_id: str | None
    ) -> list[dict[str, Any]]:
        if self.fail:
            raise RuntimeError("discord is down")
        self.puts.append((list(commands), guild_id))
        return [{"id": str(i), **c} for i, c in enumerate(commands)]


def event(request_type: str, **properties: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-response.example/presigned",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "DiscordCommands",
        "ResourceProperties": {"ApplicationId": "111", "GuildId": "", **properties},
    }


def run(
    request: dict[str, Any], discord: FakeDiscord
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    response = handle_event(request, lambda _app: discord, send=lambda url, body: sent.append((url, body)))  # type: ignore[arg-type,return-value]
    return response, sent


@pytest.mark.parametrize(("guild", "scope"), [("", "global"), ("999", "999")])
def test_create_registers_the_commands_in_the_right_scope(guild: str, scope: str) -> None:
    discord = FakeDiscord()
    response, sent = run(event("Create", GuildId=guild), discord)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == f"discord-commands-111-{scope}"
    assert response["Data"]["Names"] == ",".join(command["name"] for command in COMMANDS)
    assert response["Data"]["Count"] == len(COMMANDS)
    [(commands, guild_id)] = discord.puts
    assert guild_id == (guild or None)
    assert all(("contexts" in c) is (not guild) for c in commands)
    assert sent == [("https://cloudformation-response.example/presigned", response)]


def test_a_failed_registration_is_reported_as_failed_not_left_hanging() -> None:
    response, sent = run(event("Update"), FakeDiscord(fail=True))
    assert response["Status"] == "FAILED"
    assert "discord is down" in response["Reason"]
    assert len(sent) == 1


@pytest.mark.parametrize("properties", [{}, {"ApplicationId": ""}])
def test_delete_clears_the_commands_and_never_fails(properties: dict[str, str]) -> None:
    request = event("Delete", **properties)
    request["PhysicalResourceId"] = "discord-commands-111-global"
    discord = FakeDiscord(fail=True)
    response, sent = run(request, discord)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "discord-commands-111-global"
    assert len(sent) == 1
    working = FakeDiscord()
    run(request, working)
    assert working.puts == [([], None)]


def test_an_unknown_request_type_fails_with_a_reason() -> None:
    response, _ = run(event("Replace"), FakeDiscord())
    assert response["Status"] == "FAILED"
    assert "Replace" in response["Reason"]
