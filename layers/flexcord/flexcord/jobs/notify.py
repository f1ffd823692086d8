"""Telling the member how their request went, and staff what needs them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flexcord.adapters.discord import (
    NO_MENTIONS,
    DiscordApiError,
    DiscordClient,
    UnknownInteraction,
    UnknownWebhook,
    derived_nonce,
)
from flexcord.jobs.model import InteractionContext
from flexcord.observability import logger


def tell_member(
    discord: DiscordClient,
    context: InteractionContext,
    *,
    content: str | None = None,
    embeds: Sequence[dict[str, Any]] = (),
    components: Sequence[dict[str, Any]] = (),
) -> bool:
    """Edit the deferred reply the member is looking at. Its token lives 15 minutes; a job retried
    later than that falls back to a DM, so the answer still reaches the member. False when there
    was nowhere to say it (the token expired and the member's DMs are closed)."""
    try:
        # Every deferred reply is ephemeral: content that overflows into follow-ups stays so.
        discord.edit_original_response(
            context.token, content=content, embeds=list(embeds), components=list(components), ephemeral=True
        )
        return True
    except (UnknownWebhook, UnknownInteraction):
        logger.info(
            "interaction token expired; answering by DM", extra={"interaction_id": context.interaction_id}
        )
    try:
        channel = discord.open_dm(context.user_id)
        discord.create_message(
            channel["id"],
            content=content,
            embeds=embeds,
            components=components,
            nonce=_answer_nonce(context, content, embeds, components),
        )
        return True
    except DiscordApiError as refusal:
        # 50007 DMs closed, 50278 no mutual server...: nowhere left to say it.
        logger.warning(
            "answer not delivered: Discord refused the DM",
            extra={"user_id": context.user_id, "code": refusal.code},
        )
        return False


def _answer_nonce(
    context: InteractionContext,
    content: str | None,
    embeds: Sequence[dict[str, Any]],
    components: Sequence[dict[str, Any]],
) -> str:
    """The same answer to the same interaction, from a retried job, is posted once; another
    answer in the same job is a message of its own."""
    said = json.dumps([context.interaction_id, content, list(embeds), list(components)], sort_keys=True)
    return derived_nonce("dm", said)


def tell_staff(discord: DiscordClient, staff_channel_id: str | None, *, content: str, nonce: str) -> bool:
    """Post a notice in the server's staff channel (set with /setup), for what no member's
    interaction is waiting on: a scheduled or automatic post that went wrong. ``nonce`` (≤25
    characters, derived from what is reported) makes a retried job post the notice once. False
    when there is no staff channel or Discord refused; the caller has logged what happened."""
    if not staff_channel_id:
        logger.warning("no staff channel to tell", extra={"notice": content[:200]})
        return False
    try:
        discord.create_message(staff_channel_id, content=content, allowed_mentions=NO_MENTIONS, nonce=nonce)
    except DiscordApiError as refusal:
        logger.warning(
            "staff notice not delivered: Discord refused it",
            extra={"channel_id": staff_channel_id, "code": refusal.code},
        )
        return False
    return True
