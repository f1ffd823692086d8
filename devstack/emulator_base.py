"""What the local stack's HTTP servers share: serving an app on loopback (start, stop, ``with``,
the address), and for the Discord and Twilio emulators the request log and fault injection they
offer tests, and the transport wrapped around every request they answer (control routes aside,
faults first, a bug answered as a 500, then the log)."""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, overload

from devstack.control_client import wait_for
from devstack.http_server import (
    EmulatorHttpServer,
    Fault,
    FaultInjector,
    HttpRequest,
    HttpResponse,
    RequestLog,
    serve_with_faults,
)

CONTROL_PREFIX = "/_emulator/"

App = Callable[[HttpRequest], HttpResponse]
#: A background loop: runs until the event of its run is set (by ``stop``).
Loop = Callable[[threading.Event], None]


class LoopbackService:
    """An HTTP app (``_app``) served on ``host``:``port`` (0: a free port) by a daemon thread,
    with background loops of its own (``_loops``), from :meth:`start` (or ``with``) to
    :meth:`stop`."""

    thread_name = "emulator"
    server_class: type[EmulatorHttpServer] = EmulatorHttpServer
    _app: App

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self._requested_port = port
        self._server: EmulatorHttpServer | None = None
        self._threads: list[threading.Thread] = []
        # One per run: set by stop() to end that run's loops and wake its slow answers.
        self._stopping = threading.Event()

    def _started(self) -> None:
        """Called once the port is bound, before anything is served."""

    def _stopped(self) -> None:
        """Called on stop, before the server stops accepting (the run's event is already set)."""

    def _loops(self) -> dict[str, Loop]:
        """Background loops by name (their thread is ``<thread_name>-<name>``)."""
        return {}

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        self._server = self.server_class((self.host, self._requested_port), self._app)
        self._started()
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._threads = [serve] + [
            threading.Thread(
                target=loop, args=(self._stopping,), name=f"{self.thread_name}-{name}", daemon=True
            )
            for name, loop in self._loops().items()
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        server, threads = self._server, self._threads
        if server is None:
            return
        self._server, self._threads = None, []
        # First wake what waits on the run (loops, slow answers), then stop accepting: shutdown()
        # only waits for the accept loop, and server_close() joins no handler (daemon threads).
        self._stopping.set()
        self._stopped()
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Recorded(Protocol):
    """An entry of an emulator's request log."""

    def to_dict(self) -> dict[str, Any]: ...


class Emulator[F: Fault, R: Recorded](LoopbackService):
    """An emulated API on loopback, with what tests ask of each: scripted faults (or a policy
    deciding them), the log of the requests answered, and :meth:`state` for the control API."""

    def __init__(self, *, host: str, port: int, fault_type: type[F]) -> None:
        super().__init__(host=host, port=port)
        self._faults: FaultInjector[F] = FaultInjector(fault_type)
        self._log: RequestLog[R] = RequestLog()

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def inject_fault(  # noqa: PLR0917 - the documented, positional signature
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        times: int = 1,
        delay: float = 0,
        hold: bool = False,
    ) -> None:
        """Fail the next ``times`` requests whose method matches (``"*"``: any) and whose full
        path matches the regex ``path_pattern`` (searched in e.g. ``/api/v10/channels/1/messages``
        or ``/conversations/v1/Conversations/CH.../Messages``), after sleeping ``delay`` seconds.
        ``status=0`` only delays and then answers normally. ``hold=True`` instead serves the
        request and then holds the answer back ``delay`` seconds (a response lost to the client's
        read timeout although the write happened)."""
        fault = self._faults.make(
            status, body, delay=delay, hold=hold, method=method, path_pattern=path_pattern
        )
        self._faults.add(fault, times)

    def clear_faults(self) -> None:
        """Forget the injected faults (a fault policy stays until ``set_fault_policy(None)``)."""
        self._faults.clear()

    def set_fault_policy(self, policy: Callable[[HttpRequest], F | None] | None) -> None:
        """Ask ``policy`` about every request no injected fault matches: it returns a fault made
        with :meth:`make_fault` (seeded chaos), or ``None`` to let the request through."""
        self._faults.set_policy(policy)

    def make_fault(
        self, status: int, body: dict[str, Any] | None = None, *, delay: float = 0.0, hold: bool = False
    ) -> F:
        """A fault for a policy to return (same meaning as :meth:`inject_fault`'s arguments)."""
        return self._faults.make(status, body, delay=delay, hold=hold)

    @property
    def requests(self) -> list[R]:
        """The requests answered, oldest first (control API calls are not recorded)."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    @staticmethod
    def wait_for[T](predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
        """Poll ``predicate`` until it returns something truthy; raise TimeoutError otherwise."""
        return wait_for(predicate, timeout, interval)


@dataclass
class Exchange:
    """One request on its way through an emulator's transport."""

    request: HttpRequest
    route: str | None = None  # the key of the route that served it, once one is found


class Transport[F: Fault, R, X: Exchange]:
    """Answers one HTTP request: control routes go to the control API; anything else is served
    (``_serve``) unless an injected fault answers first, an emulator bug becomes a 500, and the
    answer is recorded in the log."""

    def __init__(self, *, faults: FaultInjector[F], log: RequestLog[R], control: App) -> None:
        self.faults = faults
        self.log = log
        self.control = control

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return self.control(request)
        exchange = self._exchange(request)
        try:
            response = serve_with_faults(self.faults, request, lambda: self._serve(exchange))
        except Exception:  # an emulator bug must surface as a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            response = self._internal_error()
        self._finish(exchange, response)
        self.log.append(self._record(exchange, response))
        return response

    def _exchange(self, request: HttpRequest) -> X:
        raise NotImplementedError

    def _serve(self, exchange: X) -> HttpResponse:
        raise NotImplementedError

    def _internal_error(self) -> HttpResponse:
        raise NotImplementedError

    def _finish(self, exchange: X, response: HttpResponse) -> None:
        """Headers every answer carries (faults and 500s included)."""

    def _record(self, exchange: X, response: HttpResponse) -> R:
        raise NotImplementedError


class CannedError:
    """An error of an API's catalogue, as a class attribute of its exception type that makes it:
    ``unknown_channel = CannedError(404, 10003, "Unknown Channel")`` gives
    ``DiscordApiError.unknown_channel()``, a fresh ``DiscordApiError(404, 10003, "Unknown Channel")``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message

    def __get__[E](self, instance: object, owner: Callable[[int, int, str], E]) -> Callable[[], E]:
        return lambda: owner(self.status, self.code, self.message)


class Forwarded[T]:
    """An emulator's attribute that is an attribute of one of its parts, read there (and, unless
    ``read_only``, written there): ``webhook_timeout = Forwarded[float]("_dispatcher", "timeout")``."""

    def __init__(self, part: str, name: str, *, read_only: bool = False) -> None:
        self.part = part
        self.name = name
        self.read_only = read_only

    def __set_name__(self, owner: type[Any], public_name: str) -> None:
        self.public_name = public_name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> T: ...
    def __get__(self, instance: object | None, owner: type[Any]) -> Self | T:
        if instance is None:
            return self
        value: T = getattr(getattr(instance, self.part), self.name)
        return value

    def __set__(self, instance: object, value: T) -> None:
        if self.read_only:
            raise AttributeError(f"{self.public_name} is read-only")
        setattr(getattr(instance, self.part), self.name, value)
