"""The bot's Discord client, built from settings.

Apart from flexcord.wiring so that CommandsFunction (which needs only this) does not import the
worker's graph and, with it, twilio: that function does not carry the twilio layer.
"""

from __future__ import annotations

from flexcord.adapters.discord.client import DiscordClient
from flexcord.adapters.discord.ratelimit import GLOBAL_REQUESTS_PER_SECOND, RateLimiter
from flexcord.config import DiscordSettings
from flexcord.secrets import get_secret


def discord_client(
    settings: DiscordSettings,
    *,
    max_attempts: int = 3,
    read_timeout: float = 6.0,
    global_limit: int = GLOBAL_REQUESTS_PER_SECOND,
) -> DiscordClient:
    """The bot's Discord client. The defaults bound one request to about 30 s of retries inside
    the worker's 60 s; the token is read when the first request needs it (and cached by
    Powertools parameters), so building the client costs no Secrets Manager call.
    ``global_limit``: this process's share of Discord's per-bot limit of requests a second."""
    return DiscordClient(
        base_url=settings.api_base_url,
        application_id=settings.application_id,
        bot_token=lambda: get_secret("DISCORD_BOT_TOKEN"),
        max_attempts=max_attempts,
        timeout=(3.05, read_timeout),
        rate_limiter=RateLimiter(global_limit=global_limit),
    )
