"""scripts/bench_relay.py on a few messages: every figure is there with a number, and the relay
happened (work was counted each way). No timing is asserted: the machine is shared."""

from __future__ import annotations

import math

import pytest

from scripts.bench_relay import TO_MEMBER, TO_TWILIO, measure

pytestmark = pytest.mark.slow

STEPS = (
    "latency p50",
    "latency p99",
    "queue dwell p50",
    "DynamoDB reads/message",
    "DynamoDB writes/message",
    "SQS calls/message",
    "event source SQS calls/message",
    "Lambda invocations/message",
    "Lambda GB-seconds/message",
)
COUNTED = (
    "DynamoDB reads/message",
    "DynamoDB writes/message",
    "SQS calls/message",
    "Lambda invocations/message",
)


def test_measure_reports_every_figure_each_way() -> None:
    figures = {figure.name: figure for figure in measure(messages=5)}

    for direction in (TO_TWILIO, TO_MEMBER):
        for step in STEPS:
            figure = figures[f"relay {direction} {step}"]
            assert isinstance(figure.value, float | int)
            assert math.isfinite(figure.value), figure
            assert figure.note
        for step in COUNTED:
            assert figures[f"relay {direction} {step}"].value > 0
        assert figures[f"relay {direction} latency p50"].budget == "<= 30"
        assert figures[f"relay {direction} DynamoDB reads/message"].budget == "<= 1"
        assert figures[f"relay {direction} DynamoDB writes/message"].budget == "<= 1"
    assert len(figures) == 2 * len(STEPS)
