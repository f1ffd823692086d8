"""Suite-wide guards: tests talk only to loopback (a real Discord, Twilio or AWS endpoint picked
up by mistake fails loudly instead of leaving the machine); and every AWS call a function makes
in the local stack must be allowed by that function's IAM policy in template.yaml (moto does not
check IAM, so without this a missing permission would show only in AWS)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple):
        host = address[0]
        try:
            is_loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_loopback = host == "localhost"
        if not is_loopback:
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _record_aws_calls() -> None:
    from devstack.aws_calls import RECORDER

    RECORDER.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a function performed an AWS action its policy does not allow."""
    from devstack.aws_calls import policy_violations
    from devstack.template import load_template

    violations = policy_violations(load_template())
    if violations:
        lines = [f"  {function}: {', '.join(sorted(actions))}" for function, actions in violations.items()]
        print("\nAWS actions performed without an IAM grant in template.yaml:\n" + "\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
