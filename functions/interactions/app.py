"""InteractionsFunction: Discord's HTTP interactions endpoint (POST /discord/interactions).

Kept light on purpose: no twilio, no Tracer, and boto3 only once a job is enqueued, so a cold
start answers well inside Discord's 3-second deadline.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.queue.job_queue import job_queue
from flexcord.config import ConfigurationError, discord_settings
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.observability import logger


@cache
def endpoint() -> InteractionsEndpoint:
    public_key = discord_settings().public_key
    if not public_key:
        # Fail loudly: without the key every request would be refused, silently, with a 401.
        raise ConfigurationError("DISCORD_PUBLIC_KEY is not set")
    return InteractionsEndpoint(public_key=public_key, queue=job_queue)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return endpoint().handle(event)
