"""ChatbotFunction: the Studio flow's HTTP Request widget target (POST /twilio/chatbot)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.queue.job_queue import job_queue
from flexcord.config import twilio_settings
from flexcord.observability import logger, metrics
from flexcord.secrets import get_secret
from flexcord.twilio_webhooks.chatbot import ChatbotEndpoint
from flexcord.wiring import case_service, knowledge_base, server_directory, session_repository


@cache
def endpoint() -> ChatbotEndpoint:
    return ChatbotEndpoint(
        auth_token=lambda: get_secret("TWILIO_AUTH_TOKEN"),
        public_base_url=twilio_settings().public_base_url,
        sessions=session_repository,
        cases=case_service,
        knowledge_base=knowledge_base,
        queue=job_queue,
        servers=server_directory,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return endpoint().handle(event)
