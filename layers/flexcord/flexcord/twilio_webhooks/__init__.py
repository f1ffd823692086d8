"""Endpoints Twilio calls: signed form posts, validated with twilio's RequestValidator."""

from __future__ import annotations

import re


def is_sid(value: object, prefix: str) -> bool:
    """Whether ``value`` is a Twilio SID of the resource type ``prefix`` (``CH``, ``IM``...).
    SIDs become queue group ids and table keys, so anything else is refused at the door even
    when signed: Twilio never sends it, and SQS or DynamoDB would refuse it later with a 5xx."""
    return isinstance(value, str) and re.fullmatch(prefix + r"[0-9a-fA-F]{32}", value) is not None
