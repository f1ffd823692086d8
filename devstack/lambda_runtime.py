"""Loading a function's handler the way Lambda does, and the context object it receives."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

#: The function whose handler is running (its context's function_name), for devstack.aws_calls.
current_function: ContextVar[str | None] = ContextVar("current_function", default=None)

#: Called with the function's name as each invocation of a handler from :func:`load_handler`
#: begins (e.g. a benchmark counting invocations); add a listener around what it counts.
invocation_listeners: list[Callable[[str], None]] = []
#: Called with the function's name and the invocation's duration in seconds as each one ends.
invocation_end_listeners: list[Callable[[str, float], None]] = []


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that Powertools and the handlers read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(handler_file: Path, handler_name: str, module_name: str) -> Handler:
    """Import functions/<name>/app.py under a unique module name (every function's file is
    called app.py) and return its handler."""
    spec = importlib.util.spec_from_file_location(module_name, handler_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {handler_file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Reachable by name, as Lambda's runtime reaches its handler module (e.g. to warm it up).
    sys.modules[module_name] = module
    handler: Handler = getattr(module, handler_name)

    def invoke(event: dict[str, Any], context: Any) -> Any:
        function_name = getattr(context, "function_name", None)
        running = current_function.set(function_name)
        for listener in tuple(invocation_listeners):
            listener(str(function_name))
        began = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            current_function.reset(running)
            for end_listener in tuple(invocation_end_listeners):
                end_listener(str(function_name), time.perf_counter() - began)

    return invoke
