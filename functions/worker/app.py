"""WorkerFunction: consumes the FIFO job queue, reporting per-message failures to SQS.

A failed message goes back to the queue (later messages of the same member wait behind it, so
their order holds) and, after the queue's maxReceiveCount, to the dead-letter queue.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.jobs.worker import JobWorker
from flexcord.observability import logger, metrics
from flexcord.wiring import build_worker


@cache
def worker() -> JobWorker:
    return build_worker()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return worker().handle_batch(event, context)
