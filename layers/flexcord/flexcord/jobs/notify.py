"""Telling the member how their request went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flexcord.adapters.discord import (
    CannotMessageUser,
    DiscordClient,
    UnknownInteraction,
    UnknownWebhook,
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
) -> None:
    """Edit the deferred reply the member is looking at. Its token lives 15 minutes; a job retried
    later than that falls back to a DM, so the answer still reaches the member."""
    try:
        discord.edit_original_response(
            context.token, content=content, embeds=list(embeds), components=list(components)
        )
        return
    except (UnknownWebhook, UnknownInteraction):
        logger.info(
            "interaction token expired; answering by DM", extra={"interaction_id": context.interaction_id}
        )
    try:
        channel = discord.open_dm(context.user_id)
        discord.create_message(channel["id"], content=content, embeds=embeds, components=components)
    except CannotMessageUser:
        logger.warning("member has DMs closed; answer not delivered", extra={"user_id": context.user_id})
