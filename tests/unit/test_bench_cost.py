"""scripts/bench_cost.py: the cost formula over counted work, on figures made up here."""

from __future__ import annotations

import pytest

from scripts.bench_cost import (
    EVENT_SOURCE_REQUESTS_PER_MESSAGE,
    PRICES,
    cost_figures,
    cost_table,
    fixed_monthly_cost,
)
from scripts.bench_report import Figure


def relay_figures(direction: str, **values: float) -> list[Figure]:
    names = {
        "invocations": "Lambda invocations/message",
        "gb_seconds": "Lambda GB-seconds/message",
        "sqs": "SQS calls/message",
        "reads": "DynamoDB reads/message",
        "writes": "DynamoDB writes/message",
    }
    return [Figure(f"relay {direction} {names[key]}", value, "calls") for key, value in values.items()]


def test_a_million_messages_cost_each_counted_request_at_its_price() -> None:
    figures = relay_figures("a->b", invocations=2, gb_seconds=0.01, sqs=1, reads=1, writes=1)
    by_name = {f.name: f.value for f in cost_figures(figures, ("a->b",))}

    per_message = (
        1 * PRICES["http_request"]
        + 2 * PRICES["lambda_request"]
        + 0.01 * PRICES["lambda_gb_second_arm64"]
        + (1 + EVENT_SOURCE_REQUESTS_PER_MESSAGE) * PRICES["sqs_fifo_request"]
        + 1 * PRICES["dynamodb_read_unit"]
        + 1 * PRICES["dynamodb_write_unit"]
    )
    assert by_name["cost per 1,000,000 relayed messages a->b"] == pytest.approx(per_message * 1e6, abs=1e-4)
    assert by_name["cost per 1,000 relayed messages a->b"] == pytest.approx(per_message * 1e3, abs=1e-4)
    # $1 HTTP + $0.40 Lambda requests + $0.13 compute + $1.50 SQS + $0.125 + $0.625 DynamoDB.
    assert by_name["cost per 1,000,000 relayed messages a->b"] == pytest.approx(3.78, abs=0.01)


def test_more_writes_cost_more_and_the_fixed_cost_does_not_grow_with_messages() -> None:
    one = cost_figures(relay_figures("x", invocations=2, gb_seconds=0.01, sqs=1, reads=1, writes=1), ("x",))
    three = cost_figures(relay_figures("x", invocations=2, gb_seconds=0.01, sqs=1, reads=1, writes=3), ("x",))
    assert three[1].value - one[1].value == pytest.approx(2 * PRICES["dynamodb_write_unit"] * 1e6, abs=1e-4)
    assert one[-1].value == three[-1].value == round(fixed_monthly_cost(), 2)
    assert fixed_monthly_cost() > 0


def test_the_cost_table_shows_each_line_and_the_totals_of_each_direction() -> None:
    figures = relay_figures("a->b", invocations=2, gb_seconds=0.01, sqs=1, reads=1, writes=1)
    figures += relay_figures("b->a", invocations=2, gb_seconds=0.01, sqs=1, reads=1, writes=3)
    table = cost_table(figures, ("a->b", "b->a")).splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in table}

    assert rows["DynamoDB write units"] == "| DynamoDB write units | 1 | 0.625 | 3 | 1.875 |"
    assert rows["SQS FIFO requests"] == "| SQS FIFO requests | 3 | 1.500 | 3 | 1.500 |"
    assert rows["per 1,000,000 messages"] == "| per 1,000,000 messages | | **3.78** | | **5.03** |"
