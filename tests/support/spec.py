"""Matching requests against the official Discord and Twilio OpenAPI documents vendored in specs/."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

# The repository's own copies (see specs/README.md), found from this file: no machine path.
SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
DISCORD_SPEC = SPECS_DIR / "discord" / "openapi.json"
TWILIO_SPECS_DIR = SPECS_DIR / "twilio"
API_PREFIX = "/api/v10"


@cache
def _operations() -> list[tuple[str, re.Pattern[str]]]:
    spec = json.loads(DISCORD_SPEC.read_text())
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
    spec = json.loads((TWILIO_SPECS_DIR / TWILIO_SPECS[product]).read_text())
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
