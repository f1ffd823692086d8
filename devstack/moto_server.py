"""moto's server on loopback: DynamoDB and SQS for the local stack and the tests, reached through
boto3's standard AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

HOST = "127.0.0.1"


class MotoOnLoopback:
    def __init__(self, port: int = 0) -> None:
        patch_sqs_fifo()
        patch_sqs_for_bursts()
        patch_dynamodb_atomic_writes()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        """Serve moto as its ThreadedMotoServer does, on a socket bound here first: a port in use
        raises ``OSError`` (EADDRINUSE) to the caller, where ThreadedMotoServer's thread would
        print werkzeug's complaint, exit, and leave ``start`` waiting forever."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        listener = socket.create_server((HOST, self._port))  # SO_REUSEADDR, as werkzeug sets it
        try:
            port = int(listener.getsockname()[1])
            server = make_server(
                HOST,
                port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listener.fileno(),  # werkzeug serves a duplicate of it
            )
        finally:
            listener.close()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{HOST}:{port}"
        # moto keeps its state per process, shared by every server in it: start from nothing.
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        return self.endpoint_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)


class MotoProcess:
    """The same server in a process of its own (``python -m devstack.moto_server``): a benchmark
    that loads the stack with several worker processes keeps moto off the stack process's GIL,
    as AWS is off the functions' machine."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        port = self._port or _free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devstack.moto_server", str(port)],
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.endpoint_url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=1).raise_for_status()
                return self.endpoint_url
            except requests.RequestException:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not start on port {port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


_RECEIVE_LOCK = threading.Lock()
_DYNAMODB_WRITE_LOCK = threading.RLock()
#: The DynamoDB operations that check a condition and then write.
_DYNAMODB_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_transaction",
)


def patch_dynamodb_atomic_writes() -> None:
    """Make moto's conditional writes atomic, as DynamoDB's are.

    moto's server answers requests on several threads, and its DynamoDB backend checks a
    condition and then writes in plain Python: two conditional updates of one item at once can
    both find the condition true and both succeed. Flexcord relies on exactly one winning (two
    polls of one feed slot, two deliveries of one job), so writes are serialised here; reads are
    left alone.
    """
    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend, "_devstack_atomic_writes", False):
        return
    for name in _DYNAMODB_WRITES:
        setattr(models.DynamoDBBackend, name, _serialised(getattr(models.DynamoDBBackend, name)))
    models.DynamoDBBackend._devstack_atomic_writes = True  # type: ignore[attr-defined]


def _serialised(write: Any) -> Any:
    def serialised(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_WRITE_LOCK:
            return write(*args, **kwargs)

    return serialised


def patch_sqs_fifo() -> None:
    """Make moto's FIFO queues keep SQS's promises, which the worker's ordering relies on.

    - A receive is atomic, and a group with a message in flight (received, still invisible) hands
      out nothing until that message is deleted or visible again, as in SQS. moto decides from a
      set of "pending" messages snapshotted at the start of each receive, so two receives at
      once, or a message that came back visible ahead of an in-flight one of its group, can hand
      a member's later job out while an earlier one is still in flight or waiting to be retried.
    - Deduplication lasts five minutes from the send, whether or not the first message was
      already deleted (moto only compares with messages still in the queue).
    """
    from moto.sqs import models

    if getattr(models.SQSBackend, "_devstack_fifo_patched", False):
        return
    original_receive = models.SQSBackend.receive_message
    original_add = models.Queue.add_message

    def receive_message(self: Any, queue_name: str, count: int, *args: Any, **kwargs: Any) -> list[Any]:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return original_receive(self, queue_name, count, *args, **kwargs)
        return _receive_fifo(queue, count, *args, **kwargs)

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue and not _first_in_five_minutes(self, message):
            return  # a duplicate: SQS accepts the send and drops the message
        original_add(self, message)

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    models.Queue.add_message = add_message  # type: ignore[method-assign]
    models.SQSBackend._devstack_fifo_patched = True  # type: ignore[attr-defined]


def patch_sqs_for_bursts() -> None:
    """Keep moto's SQS linear in a burst of thousands of messages (benchmarks queue 2,000 at once).

    - Every send reads the queue's attributes for ContentBasedDeduplication, and moto computes
      the approximate message counts with them, a pass over every message each time: queueing
      n messages costs n² message checks. The counts are not computed while a send reads them.
    - moto's clock builds two datetimes per reading, and each receive reads it for every message
      in the queue; the same instant from ``time.time()`` costs a tenth of that.
    - The attribute names are converted from CamelCase on every read: remembered once converted.
    """
    import functools
    import time

    from moto.sqs import models

    if getattr(models.SQSBackend, "_devstack_burst_patched", False):
        return
    sending = threading.local()
    original_clock = getattr(models, "unix_time_millis")  # noqa: B009 - not exported, per mypy

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else original_clock(dt)

    def while_sending(send: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            sending.active = True
            try:
                return send(*args, **kwargs)
            finally:
                sending.active = False

        return wrapped

    def uncounted_while_sending(count: Any) -> property:
        def read(queue: Any) -> int:
            return 0 if getattr(sending, "active", False) else int(count.fget(queue))

        return property(read)

    setattr(models, "unix_time_millis", unix_time_millis)  # noqa: B010
    setattr(models, "camelcase_to_underscores", functools.cache(getattr(models, "camelcase_to_underscores")))  # noqa: B009, B010
    for name in ("send_message", "send_message_batch"):
        setattr(models.SQSBackend, name, while_sending(getattr(models.SQSBackend, name)))
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        setattr(models.Queue, name, uncounted_while_sending(getattr(models.Queue, name)))
    models.SQSBackend._devstack_burst_patched = True  # type: ignore[attr-defined]


def _first_in_five_minutes(queue: Any, message: Any) -> bool:
    from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS

    dedup_id = message.deduplication_id
    if not dedup_id:
        return True
    sent: dict[str, float] = queue.__dict__.setdefault("_devstack_dedup_sent", {})
    now = float(message.sent_timestamp or 0)
    first = sent.get(dedup_id)
    if first is not None and (now - first) / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
        return False
    sent[dedup_id] = now
    return True


def _receive_fifo(
    queue: Any,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    from moto.core.utils import unix_time

    polling_end = unix_time() + wait_seconds_timeout
    while True:
        with _RECEIVE_LOCK:
            result = _take_fifo(queue, count, visibility_timeout, message_attribute_names or [])
        if result or not wait_seconds_timeout or unix_time() > polling_end:
            return result
        # Not moto's wait_for_messages: it returns at once while any message is visible, so a
        # receive would spin while every visible message waits behind one in flight. A new
        # message wakes this wait; a visibility running out is seen on the next tick.
        with queue._messages_lock:
            queue._messages_lock.wait(timeout=0.2)


def _take_fifo(queue: Any, count: int, visibility_timeout: int, names: list[str]) -> list[Any]:
    from copy import deepcopy

    from moto.sqs.models import _filter_message_attributes

    result: list[Any] = []
    messages = list(queue._messages)
    # A group with a message in flight (received, still invisible) hands out nothing else until
    # that message is deleted or visible again.
    blocked = {message.group_id for message in messages if message.delayed or not message.visible}
    to_dead_letter: list[Any] = []
    redrive = queue.redrive_policy
    for message in messages:
        if message.group_id in blocked:
            continue
        queue.pending_messages.discard(message)
        if (
            queue.dead_letter_queue is not None
            and redrive
            and message.approximate_receive_count >= redrive["maxReceiveCount"]
        ):
            to_dead_letter.append(message)
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        copied = deepcopy(message)
        _filter_message_attributes(copied, names)
        result.append(copied)
        if len(result) >= count:
            break
    for message in to_dead_letter:
        queue._messages.remove(message)
        queue.dead_letter_queue.add_message(message)
    return result


def main() -> int:
    """Serve moto on the port given (MotoProcess's child) until terminated."""
    server = MotoOnLoopback(int(sys.argv[1]))
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
