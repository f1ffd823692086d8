"""Twilio: Conversations v1, Media and the Flex Interactions API, behind one gateway.

Only the worker and the Twilio webhook functions import this package: twilio and requests cost
~150 ms to import, which the Discord interactions endpoint must not pay.
"""

from flexcord.adapters.twilio.gateway import (
    ConversationClosed,
    ConversationMessage,
    FlexHandoff,
    MediaTooLarge,
    TwilioError,
    TwilioGateway,
)

__all__ = [
    "ConversationClosed",
    "ConversationMessage",
    "FlexHandoff",
    "MediaTooLarge",
    "TwilioError",
    "TwilioGateway",
]
