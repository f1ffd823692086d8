"""The CloudFormation custom resource that registers the slash commands on every deploy.

CloudFormation waits (up to an hour) for a response PUT to the pre-signed ``ResponseURL``, so
every path, failures included, must send one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

from flexcord.adapters.discord import DiscordClient
from flexcord.observability import logger
from flexcord.registration import register_commands


def physical_id(application_id: str, guild_id: str | None) -> str:
    # The scope is in the id: moving from a guild to global commands replaces the resource, and
    # CloudFormation then deletes the old one, which clears the old guild's commands.
    return f"discord-commands-{application_id}-{guild_id or 'global'}"


def handle_event(
    event: Mapping[str, Any],
    discord_for: Callable[[str], DiscordClient],
    *,
    send: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Act on a Create/Update/Delete request and send CloudFormation its response."""
    properties = event.get("ResourceProperties") or {}
    application_id = str(properties.get("ApplicationId", ""))
    guild_id = str(properties.get("GuildId") or "") or None
    request_type = event.get("RequestType")
    status, reason, data = "SUCCESS", "", {}
    resource_id = str(event.get("PhysicalResourceId") or physical_id(application_id, guild_id))
    try:
        if request_type == "Delete":
            _clear_commands(discord_for, application_id, guild_id)
        elif request_type in ("Create", "Update"):
            if not application_id:
                raise ValueError("ApplicationId is required")
            resource_id = physical_id(application_id, guild_id)
            registered = register_commands(discord_for(application_id), guild_id=guild_id)
            data = {"Count": len(registered), "Names": ",".join(c.get("name", "") for c in registered)}
            logger.info("commands registered", extra={"count": len(registered), "guild_id": guild_id})
        else:
            raise ValueError(f"unknown RequestType {request_type!r}")
    except Exception as error:
        logger.exception("command registration failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:500]
    response = {
        "Status": status,
        "Reason": reason or "See the CommandsFunction logs",
        "PhysicalResourceId": resource_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": data,
    }
    (send or _put_response)(str(event.get("ResponseURL", "")), response)
    return response


def _clear_commands(
    discord_for: Callable[[str], DiscordClient], application_id: str, guild_id: str | None
) -> None:
    # Commands whose endpoint is gone would only fail for members. But a Delete that fails would
    # block the stack's deletion or rollback, so any failure here is logged, never raised.
    try:
        discord_for(application_id).put_application_commands([], guild_id=guild_id)
    except Exception:
        logger.exception("could not clear commands on delete; remove them in the developer portal")


def _put_response(url: str, body: dict[str, Any]) -> None:
    # The pre-signed S3 URL was signed without a content type, so none may be sent.
    requests.put(url, data=json.dumps(body), headers={"Content-Type": ""}, timeout=10).raise_for_status()
