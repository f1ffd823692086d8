"""Builds the functions' collaborators from configuration: the one place adapters are chosen and
connected."""

from __future__ import annotations

from flexcord.adapters.discord import DiscordClient
from flexcord.adapters.queue.job_queue import SqsJobQueue
from flexcord.adapters.storage.case_repository import DynamoCaseRepository
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.cases import CaseService
from flexcord.config import ConfigurationError, DiscordSettings, aws_settings, discord_settings
from flexcord.jobs.case_jobs import CaseJobs
from flexcord.jobs.model import JobKind
from flexcord.jobs.worker import JobWorker
from flexcord.secrets import get_secret


def discord_client(
    settings: DiscordSettings, *, max_attempts: int = 3, read_timeout: float = 6.0
) -> DiscordClient:
    """The bot's Discord client. The defaults bound one request to about 30 s of retries inside
    the worker's 60 s; the token is read when the first request needs it (and cached by
    Powertools parameters), so building the client costs no Secrets Manager call."""
    return DiscordClient(
        base_url=settings.api_base_url,
        application_id=settings.application_id,
        bot_token=lambda: get_secret("DISCORD_BOT_TOKEN"),
        max_attempts=max_attempts,
        timeout=(3.05, read_timeout),
    )


def build_worker() -> JobWorker:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = discord_settings()
    table_name = aws_settings().table_name
    if not table_name:
        raise ConfigurationError("TABLE_NAME is not set")
    discord = discord_client(settings)
    cases = CaseJobs(CaseService(DynamoCaseRepository(dynamodb_client(), table_name)), discord, settings)
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#worker",
        expiry_attr="expires_at",
        boto3_client=dynamodb_client(),
    )
    return JobWorker(
        executors={
            JobKind.CREATE_CASE: cases.create_case,
            JobKind.SHOW_CASE: cases.show_case,
            JobKind.LIST_CASES: cases.list_cases,
        },
        discord=discord,
        persistence=persistence,
        max_receive_count=aws_settings().job_max_receive_count,
        queue=SqsJobQueue(queue_url) if (queue_url := aws_settings().job_queue_url) else None,
    )
