"""WorkerFunction: consumes the FIFO job queue, reporting per-message failures to SQS.

A failed message goes back to the queue (later messages of the same member wait behind it, so
their order holds) and, after the queue's maxReceiveCount, to the dead-letter queue.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from flexcord.jobs.worker import JobWorker
from flexcord.observability import logger, metrics
from flexcord.wiring import build_worker

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@cache
def worker() -> JobWorker:
    return build_worker()


def record_handler(record: SQSRecord) -> dict[str, Any]:
    return worker().process_record(record)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    worker().register_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
