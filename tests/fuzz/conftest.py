"""The fuzz suite's Hypothesis profile and its closing summary.

`pytest tests/fuzz` runs a seeded slice (part of `make test`, a few seconds); with
FLEXCORD_FUZZ_EXAMPLES=N (`make fuzz`: 10,000) each fuzz test generates at least N requests for
its endpoint: N / FAN_OUT Hypothesis examples, each sending FAN_OUT variants (the signature tests
send a dozen). Both are derandomized, the same examples every run, so a failure is repeatable;
and there is no deadline, so a slow, shared machine is not a failure.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import FAN_OUT, TALLY

PROFILE = "flexcord-fuzz"
SLICE_EXAMPLES = 60
FULL_REQUESTS = int(os.environ.get("FLEXCORD_FUZZ_EXAMPLES") or 0)

settings.register_profile(
    PROFILE,
    max_examples=-(-FULL_REQUESTS // FAN_OUT) if FULL_REQUESTS else SLICE_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.requests:
        return
    mode = f"full run, FLEXCORD_FUZZ_EXAMPLES={FULL_REQUESTS}" if FULL_REQUESTS else "seeded slice"
    terminalreporter.write_sep("=", f"Flexcord fuzz summary ({mode})")
    for line in TALLY.summary():
        terminalreporter.write_line(line)
