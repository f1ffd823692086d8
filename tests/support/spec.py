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
