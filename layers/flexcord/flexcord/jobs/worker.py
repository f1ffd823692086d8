"""The worker: runs each queued job once, in order per member, and tells the member when a job
has failed for the last time.

Two layers keep a redelivered job from acting twice. Powertools idempotency records each finished
job (keyed by its interaction id) and replays the stored result instead of running it again; and
each step is idempotent on its own (the case is keyed by the interaction, the post carries a
nonce), for a job that failed half-way and is retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.adapters.discord import DiscordClient
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.notify import tell_member
from flexcord.observability import logger, metrics

Executor = Callable[[Job], dict[str, Any]]

# SQS keeps a message up to four days; an idempotency record must outlive any redelivery.
IDEMPOTENCY_TTL_SECONDS = 4 * 24 * 3600

FAILURE_MESSAGES: dict[JobKind, str] = {
    JobKind.CREATE_CASE: "your report could not be filed",
    JobKind.SHOW_CASE: "the case could not be loaded",
    JobKind.LIST_CASES: "your cases could not be loaded",
}


class UnknownJobKind(ValueError):
    pass


class JobWorker:
    def __init__(
        self,
        *,
        executors: dict[JobKind, Executor],
        discord: DiscordClient,
        persistence: BasePersistenceLayer,
        max_receive_count: int,
    ) -> None:
        self._executors = executors
        self._discord = discord
        self._max_receive_count = max_receive_count
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath="context.interaction_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="job",
            config=self.idempotency_config,
            persistence_store=persistence,
        )(self._run)

    def register_context(self, context: LambdaContext) -> None:
        # Lets an in-progress record expire with the invocation if the Lambda is killed mid-job.
        self.idempotency_config.register_lambda_context(context)

    def process_record(self, record: SQSRecord) -> dict[str, Any]:
        document = json.loads(record.body)
        job = Job.from_dict(document)
        logger.append_keys(job_kind=job.kind.value, interaction_id=job.context.interaction_id)
        try:
            result: dict[str, Any] = self._run_once(job=document)
        except Exception:
            attempt = int(record.attributes.approximate_receive_count)
            final = attempt >= self._max_receive_count
            logger.exception("job failed", extra={"attempt": attempt, "final_attempt": final})
            metrics.add_metric(name="JobFailures", unit="Count", value=1)
            if final:
                self._tell_member_it_failed(job)
            raise
        finally:
            logger.remove_keys(["job_kind", "interaction_id"])
        metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
        return result

    def _run(self, job: dict[str, Any]) -> dict[str, Any]:
        parsed = Job.from_dict(job)
        executor = self._executors.get(parsed.kind)
        if executor is None:
            raise UnknownJobKind(parsed.kind)
        return executor(parsed)

    def _tell_member_it_failed(self, job: Job) -> None:
        what = FAILURE_MESSAGES.get(job.kind, "your request could not be completed")
        try:
            tell_member(
                self._discord,
                job.context,
                content=f"⚠️ Sorry, {what}: Flexcord tried several times and gave up. "
                "Our team has been alerted; please try again later.",
            )
        except Exception:
            logger.exception("could not tell the member their job failed")
        metrics.add_metric(name="JobsDeadLettered", unit="Count", value=1)
