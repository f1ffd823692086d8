"""Twilio SIDs: a two-letter prefix naming the resource type, then 32 hex digits."""

from __future__ import annotations

import re
import uuid

# Fixed identities of the emulated account, so local configurations can name them.
DEFAULT_ACCOUNT_SID = "AC" + "f1e2c0de" * 4
DEFAULT_CHAT_SERVICE_SID = "IS" + "c4a7c0de" * 4  # the "Flex Chat Service" (default Conversations service)
DEFAULT_MESSAGING_SERVICE_SID = "MG" + "5e11c0de" * 4
DEFAULT_PARTICIPANT_ROLE_SID = "RL" + "9a27c0de" * 4  # the service's default conversation role
DEFAULT_WORKSPACE_SID = "WS" + "f1e7c0de" * 4  # the Flex TaskRouter workspace
DEFAULT_WORKFLOW_SID = "WW" + "a55ec0de" * 4  # its "Assign to Anyone" workflow
DEFAULT_QUEUE_SID = "WQ" + "e0e0c0de" * 4
DEFAULT_TASK_CHANNEL_SID = "TC" + "c4a7c0de" * 4  # the workspace's "chat" task channel
DEFAULT_OFFLINE_ACTIVITY_SID = "WA" + "0ff1c0de" * 4
DEFAULT_FLEX_INSTANCE_SID = "GO" + "f1e8c0de" * 4
DEFAULT_API_KEY_SID = "SK" + "a91ec0de" * 4


def new_sid(prefix: str) -> str:
    """A fresh SID such as ``CH`` + 32 lower-case hex digits."""
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"a SID prefix is two capital letters, not {prefix!r}")
    return prefix + uuid.uuid4().hex


def is_sid(value: str | None, prefix: str) -> bool:
    """Whether ``value`` is a well-formed SID of the resource type ``prefix``."""
    return value is not None and re.fullmatch(prefix + r"[0-9a-fA-F]{32}", value) is not None
