"""ConversationEventsFunction: Twilio Conversations' webhook (POST /twilio/conversation-events)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.queue.job_queue import job_queue
from flexcord.config import twilio_settings
from flexcord.observability import logger, metrics
from flexcord.secrets import get_secret
from flexcord.twilio_webhooks.conversation_events import ConversationEventsEndpoint


@cache
def endpoint() -> ConversationEventsEndpoint:
    return ConversationEventsEndpoint(
        auth_token=lambda: get_secret("TWILIO_AUTH_TOKEN"),
        public_base_url=twilio_settings().public_base_url,
        queue=job_queue,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return endpoint().handle(event)
