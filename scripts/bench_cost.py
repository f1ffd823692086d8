"""What relaying messages costs on AWS, from the work ``make bench`` counted (issue 12).

For one relayed message in a direction, with the counts measured by scripts/bench_relay.py:

    cost = http_requests        x HTTP API price per request
         + invocations          x Lambda price per request
         + gb_seconds           x Lambda arm64 price per GB-second
         + sqs_requests         x SQS FIFO price per request
         + dynamodb_reads       x DynamoDB on-demand price per read request unit
         + dynamodb_writes      x DynamoDB on-demand price per write request unit

and for N messages, N x that (plus the fixed monthly costs below, which do not grow with
messages). Public us-east-1 prices, without free tiers, as published when this was written; each
item is one request unit: Flexcord's items are under 1 KB (one write unit) and its reads are
strongly consistent reads under 4 KB (one read unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scripts.bench_report import Figure

#: USD, us-east-1. Sources: aws.amazon.com/lambda/pricing (arm64), /api-gateway/pricing (HTTP
#: APIs, first 300 million a month), /sqs/pricing (FIFO), /dynamodb/pricing/on-demand (after the
#: November 2024 reduction), /secrets-manager/pricing.
PRICES: Final = {
    "http_request": 1.00 / 1_000_000,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second_arm64": 0.0000133334,
    "sqs_fifo_request": 0.50 / 1_000_000,
    "dynamodb_read_unit": 0.125 / 1_000_000,
    "dynamodb_write_unit": 0.625 / 1_000_000,
    "secret_month": 0.40,
}
#: Secrets Flexcord keeps (the bot token, Twilio's auth token, the announcements webhook's secret).
SECRETS: Final = 3
#: Lambda's SQS event source long-polls an idle queue too: AWS starts it with five pollers, each
#: a ReceiveMessage about every 20 s (its long-poll wait). A month of that, at the FIFO price.
IDLE_POLLERS: Final = 5
IDLE_RECEIVES_PER_MONTH: Final = IDLE_POLLERS * 3 * 60 * 24 * 30
#: The event source's own requests for a message that arrives alone: the ReceiveMessage that
#: brings it and the delete after the worker returns (in a burst, ten messages share both). The
#: local poller's count is not used: it long-polls 1 s at a time, where AWS's pollers wait 20 s.
EVENT_SOURCE_REQUESTS_PER_MESSAGE: Final = 2


@dataclass(frozen=True)
class MessageWork:
    """What one relayed message costs in requests and compute, as counted."""

    direction: str
    http_requests: float
    invocations: float
    gb_seconds: float
    sqs_requests: float
    dynamodb_reads: float
    dynamodb_writes: float

    def cost(self) -> float:
        return (
            self.http_requests * PRICES["http_request"]
            + self.invocations * PRICES["lambda_request"]
            + self.gb_seconds * PRICES["lambda_gb_second_arm64"]
            + self.sqs_requests * PRICES["sqs_fifo_request"]
            + self.dynamodb_reads * PRICES["dynamodb_read_unit"]
            + self.dynamodb_writes * PRICES["dynamodb_write_unit"]
        )


def fixed_monthly_cost() -> float:
    """What a deployment costs a month with no message at all."""
    return SECRETS * PRICES["secret_month"] + IDLE_RECEIVES_PER_MONTH * PRICES["sqs_fifo_request"]


def work_from(figures: list[Figure], direction: str) -> MessageWork:
    """The relay's counted work in ``direction`` (scripts/bench_relay.py's figure names). Every
    message enters through one HTTP request: the member's interaction, or Twilio's webhook."""
    by_name = {figure.name: figure.value for figure in figures}

    def value(step: str) -> float:
        return float(by_name[f"relay {direction} {step}"])

    return MessageWork(
        direction=direction,
        http_requests=1.0,
        invocations=value("Lambda invocations/message"),
        gb_seconds=value("Lambda GB-seconds/message"),
        sqs_requests=value("SQS calls/message") + EVENT_SOURCE_REQUESTS_PER_MESSAGE,
        dynamodb_reads=value("DynamoDB reads/message"),
        dynamodb_writes=value("DynamoDB writes/message"),
    )


def cost_figures(figures: list[Figure], directions: tuple[str, ...]) -> list[Figure]:
    """The cost per 1,000 and per 1,000,000 relayed messages each way, and the fixed monthly."""
    result = []
    for direction in directions:
        work = work_from(figures, direction)
        note = (
            f"{work.http_requests:g} HTTP API request, {work.invocations:g} Lambda invocations, "
            f"{work.gb_seconds:.4f} GB-s, {work.sqs_requests:g} SQS requests, "
            f"{work.dynamodb_reads:g} read and {work.dynamodb_writes:g} write units per message"
        )
        for count in (1_000, 1_000_000):
            result.append(
                Figure(
                    f"cost per {count:,} relayed messages {direction}",
                    round(work.cost() * count, 6),
                    "USD",
                    None,
                    note,
                )
            )
    result.append(
        Figure(
            "cost fixed per month (no messages)",
            round(fixed_monthly_cost(), 2),
            "USD",
            None,
            f"{SECRETS} secrets and the event source's idle polling ({IDLE_RECEIVES_PER_MONTH:,} receives)",
        )
    )
    return result


#: Each line of the cost: its name, the work it counts, and its price's key in PRICES.
COST_LINES: Final = (
    ("API Gateway HTTP API requests", "http_requests", "http_request"),
    ("Lambda requests", "invocations", "lambda_request"),
    ("Lambda GB-seconds (arm64)", "gb_seconds", "lambda_gb_second_arm64"),
    ("SQS FIFO requests", "sqs_requests", "sqs_fifo_request"),
    ("DynamoDB read units", "dynamodb_reads", "dynamodb_read_unit"),
    ("DynamoDB write units", "dynamodb_writes", "dynamodb_write_unit"),
)


def cost_table(figures: list[Figure], directions: tuple[str, ...]) -> str:
    """The cost per message line by line, as a Markdown table (for docs/performance.md)."""
    works = [work_from(figures, direction) for direction in directions]
    header = " | ".join(f"{w.direction}: per message | USD per 1,000,000" for w in works)
    lines = [f"| | {header} |", "|---" * (1 + 2 * len(works)) + "|"]
    for label, field_name, price in COST_LINES:
        cells = []
        for work in works:
            quantity = float(getattr(work, field_name))
            cells.append(f"{quantity:.4g} | {quantity * PRICES[price] * 1_000_000:.3f}")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    per_1000 = " | ".join(f"| {w.cost() * 1_000:.5f}" for w in works)
    per_million = " | ".join(f"| **{w.cost() * 1_000_000:.2f}**" for w in works)
    lines.append(f"| per 1,000 messages | {per_1000} |")
    lines.append(f"| per 1,000,000 messages | {per_million} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    from scripts.bench_report import REPORT, read_report

    parser = argparse.ArgumentParser(description="The cost per relayed message, from a bench report.")
    parser.add_argument("report", nargs="?", type=Path, default=REPORT, help="default: %(default)s")
    arguments = parser.parse_args(argv)
    report, figures = read_report(arguments.report)
    directions = tuple(
        dict.fromkeys(
            f.name.removeprefix("relay ").removesuffix(" DynamoDB reads/message")
            for f in figures
            if f.name.startswith("relay ") and f.name.endswith(" DynamoDB reads/message")
        )
    )
    print(f"measured {report['measured_at']}")
    print(cost_table(figures, directions))
    print(f"\nfixed per month, whatever the traffic: {fixed_monthly_cost():.2f} USD")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
