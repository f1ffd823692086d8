"""The SQS FIFO job queue."""
