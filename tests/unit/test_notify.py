"""Telling the member: the deferred reply, or a DM once its 15-minute token has expired."""

from __future__ import annotations

from typing import Any

from flexcord.adapters.discord import UnknownWebhook
from flexcord.jobs.model import InteractionContext
from flexcord.jobs.notify import tell_member


class ExpiredReplyDiscord:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def edit_original_response(self, token: str, **_: Any) -> dict[str, Any]:
        raise UnknownWebhook(404, 10015, "Unknown Webhook")

    def open_dm(self, user_id: str) -> dict[str, Any]:
        return {"id": f"dm-{user_id}"}

    def create_message(self, channel_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.posts.append({"channel_id": channel_id, **kwargs})
        return [{"id": str(len(self.posts))}]


def member(interaction_id: str) -> InteractionContext:
    return InteractionContext(
        interaction_id=interaction_id,
        application_id="app",
        token=f"token-{interaction_id}",
        user_id="42",
        username="ann",
        display_name="Ann",
        roles=(),
        guild_id="guild",
        channel_id="channel",
        locale="en-US",
    )


def test_an_answer_sent_by_dm_is_posted_once_by_a_retried_job_and_other_answers_are_their_own() -> None:
    discord = ExpiredReplyDiscord()
    assert tell_member(discord, member("1001"), content="✓ Sent.")  # type: ignore[arg-type]
    assert tell_member(discord, member("1001"), content="✓ Sent.")  # type: ignore[arg-type]  # the retry
    tell_member(discord, member("1001"), content="Your support chat is closed.")  # type: ignore[arg-type]
    tell_member(discord, member("1002"), content="✓ Sent.")  # type: ignore[arg-type]
    nonces = [post["nonce"] for post in discord.posts]
    assert all(post["channel_id"] == "dm-42" for post in discord.posts)
    assert nonces[0] == nonces[1]
    assert len({nonces[0], nonces[2], nonces[3]}) == 3
    assert all(0 < len(nonce) <= 25 for nonce in nonces)
