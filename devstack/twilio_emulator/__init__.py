"""A faithful Twilio emulator for Flexcord's local stack and tests.

``TwilioEmulator`` serves Conversations v1, the Media Content Service and the Flex Interactions
API on loopback, delivers signed conversation-scoped webhooks, and plays a Flex agent;
``EmulatorControl`` drives a running emulator from another process. See ``emulator.py``.
"""

from .control import EmulatorControl, EmulatorControlError
from .emulator import DEFAULT_API_KEY_SECRET, DEFAULT_AUTH_TOKEN, TwilioEmulator
from .errors import TwilioApiError
from .flex import AgentActionError, agent_identity
from .rest import ROUTES, RouteSpec
from .server import RecordedRequest
from .sids import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY_SID,
    DEFAULT_CHAT_SERVICE_SID,
    DEFAULT_WORKFLOW_SID,
    DEFAULT_WORKSPACE_SID,
)
from .webhooks import DeliveryAttempt, EventOrigin, StudioTrigger

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_API_KEY_SECRET",
    "DEFAULT_API_KEY_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_CHAT_SERVICE_SID",
    "DEFAULT_WORKFLOW_SID",
    "DEFAULT_WORKSPACE_SID",
    "ROUTES",
    "AgentActionError",
    "DeliveryAttempt",
    "EmulatorControl",
    "EmulatorControlError",
    "EventOrigin",
    "RecordedRequest",
    "RouteSpec",
    "StudioTrigger",
    "TwilioApiError",
    "TwilioEmulator",
    "agent_identity",
]
