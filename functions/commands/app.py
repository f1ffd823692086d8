"""CommandsFunction: the CloudFormation custom resource that registers the slash commands."""

from dataclasses import replace
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.discord import DiscordClient
from flexcord.adapters.discord.bot import discord_client
from flexcord.config import discord_settings
from flexcord.custom_resource import handle_event
from flexcord.observability import logger


def client_for(application_id: str) -> DiscordClient:
    # Two quick attempts: CloudFormation must get an answer well inside the function's timeout.
    settings = replace(discord_settings(), application_id=application_id)
    return discord_client(settings, max_attempts=2, read_timeout=5.0)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, client_for)
