"""SchedulerFunction: every minute, queue the announcements whose time has come and the polls of
the feeds that are due.

An EventBridge rule invokes it; it reads DynamoDB and queues jobs, nothing else (no Discord, no
twilio), and the worker posts. It builds its two collaborators itself rather than through
flexcord.wiring, which would import the worker's whole graph.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.queue.job_queue import job_queue
from flexcord.adapters.storage.announcements import DynamoScheduledAnnouncements
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.feeds import DynamoFeedRepository
from flexcord.config import ConfigurationError, aws_settings
from flexcord.observability import logger, metrics
from flexcord.scheduler import Scheduler, event_time


@cache
def _scheduler() -> Scheduler:
    table_name = aws_settings().table_name
    if not table_name:
        raise ConfigurationError("TABLE_NAME is not set")
    client = dynamodb_client()
    return Scheduler(
        DynamoScheduledAnnouncements(client, table_name),
        DynamoFeedRepository(client, table_name),
        job_queue(),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _scheduler().tick(event_time(event))
