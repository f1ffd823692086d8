"""InteractionsFunction: Discord's HTTP interactions endpoint (POST /discord/interactions).

Kept light on purpose: no twilio, no Tracer, and boto3 only once a job is enqueued (the rate
limiter's DynamoDB client too), so a cold start answers well inside Discord's 3-second deadline.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.storage.rate_limit import DynamoMemberRateLimiter
from flexcord.config import ConfigurationError, DiscordSettings, aws_settings, discord_settings
from flexcord.interactions.access import MemberRateLimiter, NoRateLimit, ServerAllowList
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.observability import logger

if TYPE_CHECKING:
    from flexcord.adapters.queue.job_queue import JobQueue


@cache
def endpoint() -> InteractionsEndpoint:
    settings = discord_settings()
    if not settings.public_key:
        # Fail loudly: without the key every request would be refused, silently, with a 401.
        raise ConfigurationError("DISCORD_PUBLIC_KEY is not set")
    return InteractionsEndpoint(
        public_key=settings.public_key,
        queue=_job_queue,
        servers=allowed_servers(settings),
        rate_limiter=member_rate_limiter(settings),
    )


def _job_queue() -> JobQueue:
    # Loaded with the first job: Discord's PING, and every answer that queues nothing, never need it.
    from flexcord.adapters.queue.job_queue import job_queue

    return job_queue()


def allowed_servers(settings: DiscordSettings) -> ServerAllowList:
    if not settings.allowed_guild_ids:
        logger.warning(
            "neither DISCORD_ALLOWED_GUILD_IDS nor DISCORD_GUILD_ID is set: every server may use Flexcord"
        )
    return ServerAllowList.of(settings.allowed_guild_ids)


def member_rate_limiter(settings: DiscordSettings) -> MemberRateLimiter:
    table_name = aws_settings().table_name
    if settings.member_rate_limit_per_minute == 0:
        return NoRateLimit()
    if not table_name:
        logger.warning("TABLE_NAME is not set: members' requests are not rate-limited")
        return NoRateLimit()
    # Builds no client: the limiter creates its own on the first counted request.
    return DynamoMemberRateLimiter(
        table_name=table_name, limit_per_minute=settings.member_rate_limit_per_minute
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return endpoint().handle(event)
