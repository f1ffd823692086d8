"""Matching requests against the official Discord OpenAPI document in ../shared/specs."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

SPEC_PATH = Path(
    os.environ.get(
        "DISCORD_OPENAPI_SPEC",
        Path(__file__).resolve().parents[3] / "shared" / "specs" / "discord" / "openapi.json",
    )
)
API_PREFIX = "/api/v10"


@cache
def _operations() -> list[tuple[str, re.Pattern[str]]]:
    spec = json.loads(SPEC_PATH.read_text())
    operations = []
    for template, item in spec["paths"].items():
        # Literal segments such as @me or @original must match exactly; {params} match one segment.
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        for method in item:
            if method in {"get", "put", "post", "patch", "delete"}:
                operations.append((method.upper(), re.compile(pattern)))
    return operations


def spec_operation_exists(method: str, path: str) -> bool:
    """True when METHOD path (under /api/v10) is an operation of the official spec."""
    if not path.startswith(API_PREFIX):
        return False
    relative = path[len(API_PREFIX) :]
    return any(method == spec_method and pattern.match(relative) for spec_method, pattern in _operations())


TWILIO_SPECS = {
    "conversations": "twilio_conversations_v1.json",
    "flex-api": "twilio_flex_v1.json",
}


@cache
def _twilio_operations(product: str) -> list[tuple[str, re.Pattern[str]]]:
    spec = json.loads((SPEC_PATH.parents[1] / "twilio" / TWILIO_SPECS[product]).read_text())
    operations = []
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        for method in item:
            if method in {"get", "put", "post", "patch", "delete"}:
                operations.append((method.upper(), re.compile(pattern)))
    return operations


def twilio_operation_exists(product: str, method: str, path: str) -> bool:
    """True when METHOD path is an operation of the product's official Twilio document
    (``product`` is the API's subdomain: conversations, flex-api)."""
    if product not in TWILIO_SPECS:
        return False
    return any(
        method == spec_method and pattern.match(path) for spec_method, pattern in _twilio_operations(product)
    )
