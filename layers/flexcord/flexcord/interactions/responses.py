"""Interaction responses (the body of the HTTP answer to Discord)."""

from __future__ import annotations

from typing import Any

from discord_interactions import InteractionResponseFlags, InteractionResponseType

NO_MENTIONS: dict[str, list[str]] = {"parse": []}

InteractionResponse = dict[str, Any]


def pong() -> InteractionResponse:
    return {"type": InteractionResponseType.PONG}


def ephemeral_message(content: str, *, components: list[dict[str, Any]] | None = None) -> InteractionResponse:
    data: dict[str, Any] = {
        "content": content,
        "flags": InteractionResponseFlags.EPHEMERAL,
        "allowed_mentions": NO_MENTIONS,
    }
    if components:
        data["components"] = components
    return {"type": InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def deferred_ephemeral() -> InteractionResponse:
    """ "Flexcord is thinking…", visible to the member only; the worker edits it when done.
    The ephemeral flag is fixed here: a deferred reply cannot change its visibility later."""
    return {
        "type": InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        "data": {"flags": InteractionResponseFlags.EPHEMERAL},
    }


def deferred_update() -> InteractionResponse:
    """For a button: "working on it" without a new message; the worker edits the message the
    button is on."""
    return {"type": InteractionResponseType.DEFERRED_UPDATE_MESSAGE}


def update_message(content: str) -> InteractionResponse:
    """For a button: replace the message the button is on (and drop its buttons)."""
    return {
        "type": InteractionResponseType.UPDATE_MESSAGE,
        "data": {"content": content, "components": [], "allowed_mentions": NO_MENTIONS},
    }


def modal(custom_id: str, title: str, components: list[dict[str, Any]]) -> InteractionResponse:
    return {
        "type": InteractionResponseType.MODAL,
        "data": {"custom_id": custom_id, "title": title, "components": components},
    }


def autocomplete_choices(choices: list[dict[str, Any]]) -> InteractionResponse:
    return {
        "type": InteractionResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
        "data": {"choices": choices[:25]},
    }
