"""Twilio Studio: the v2 Flows API's storage and validation, and a runner that executes a flow
for each conversation message its ``target=studio`` webhook sees (see ``runner.py``)."""

from .definition import parse_definition, validate_definition
from .flows import Flow, FlowRevision, StudioFlows
from .liquid import LiquidError, render
from .runner import FlowRunner, StudioExecution, StudioStep

__all__ = [
    "Flow",
    "FlowRevision",
    "FlowRunner",
    "LiquidError",
    "StudioExecution",
    "StudioFlows",
    "StudioStep",
    "parse_definition",
    "render",
    "validate_definition",
]
