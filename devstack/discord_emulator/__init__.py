"""A faithful Discord API emulator for Flexcord's local stack and tests.

``DiscordEmulator`` serves Discord's REST API v10 (what the bot calls) and plays its members'
clients (signed interactions POSTed to the bot's endpoint); ``EmulatorControl`` drives a running
emulator from another process. See ``emulator.py`` for the public API.
"""

from .control import EmulatorControl, EmulatorControlError
from .emulator import DEFAULT_APPLICATION_ID, DEFAULT_BOT_TOKEN, DiscordEmulator
from .interactions import ChannelAccessError, CommandUnavailableError, InteractionResult, sign_request
from .rest import ROUTES, Route
from .server import RecordedRequest
from .snowflake import SnowflakeGenerator, snowflake_datetime
from .state import MessageWrite

__all__ = [
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_BOT_TOKEN",
    "ROUTES",
    "ChannelAccessError",
    "CommandUnavailableError",
    "DiscordEmulator",
    "EmulatorControl",
    "EmulatorControlError",
    "InteractionResult",
    "MessageWrite",
    "RecordedRequest",
    "Route",
    "SnowflakeGenerator",
    "sign_request",
    "snowflake_datetime",
]
