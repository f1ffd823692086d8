"""AnnouncementsWebhookFunction: signed announcements from automations (POST /announcements/webhook).

Light like the interactions endpoint: no twilio, and boto3 only when the secret is read from
Secrets Manager and the job is enqueued.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.queue.job_queue import job_queue
from flexcord.announcements.webhook import AnnouncementsWebhook
from flexcord.config import ConfigurationError, announcements_webhook_review_first, discord_settings
from flexcord.observability import logger, metrics
from flexcord.secrets import get_secret

SECRET_NAME = "ANNOUNCEMENTS_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret


@cache
def endpoint() -> AnnouncementsWebhook:
    server = discord_settings().default_guild_id
    if not server:
        # Fail loudly: with no server, no announcement has anywhere to go.
        raise ConfigurationError("neither DISCORD_GUILD_ID nor DISCORD_ALLOWED_GUILD_IDS is set")
    return AnnouncementsWebhook(
        secret=lambda: get_secret(SECRET_NAME),
        queue=job_queue,
        server=server,
        review_first=announcements_webhook_review_first(),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return endpoint().handle(event)
