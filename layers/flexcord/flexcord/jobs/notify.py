"""Telling the member how their request went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flexcord.adapters.discord import DiscordApiError, DiscordClient, UnknownInteraction, UnknownWebhook
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
        discord.create_message(channel["id"], content=content, embeds=embeds, components=components)
        return True
    except DiscordApiError as refusal:
        # 50007 DMs closed, 50278 no mutual server...: nowhere left to say it.
        logger.warning(
            "answer not delivered: Discord refused the DM",
            extra={"user_id": context.user_id, "code": refusal.code},
        )
        return False
