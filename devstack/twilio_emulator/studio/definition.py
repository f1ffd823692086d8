"""Checking a Studio flow definition the way ``POST /v2/Flows`` and ``/v2/Flows/Validate`` do.

A definition is ``{"initial_state": "Trigger", "states": [...], "flags": {...}}``; each state is a
widget ``{"name", "type", "transitions": [{"event", "next"}], "properties": {...}}``. The checks
follow Twilio's flow definition schema and its error 81022 (unique widget names, transitions that
name existing widgets, the required properties of each widget). Each problem is reported as
``{"message", "property_path"}``, the path a JSON pointer into the definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

JsonObject = dict[str, Any]
Problem = dict[str, str]

TRIGGER = "trigger"
# The widgets the emulator runs, with the transition events each one may have.
WIDGET_EVENTS: dict[str, frozenset[str]] = {
    TRIGGER: frozenset(
        {
            "incomingMessage",
            "incomingCall",
            "incomingConversationMessage",
            "incomingRequest",
            "incomingParent",
        }
    ),
    "make-http-request": frozenset({"success", "failed"}),
    "split-based-on": frozenset({"match", "noMatch"}),
    "send-to-flex": frozenset({"callComplete", "failedToEnqueue", "callFailure"}),
    "send-message": frozenset({"sent", "failed"}),
    "set-variables": frozenset({"next"}),
}
# Properties each widget must have (non-empty), as the Studio Console and the schema require.
REQUIRED_PROPERTIES: dict[str, tuple[str, ...]] = {
    "make-http-request": ("method", "url", "content_type"),
    "split-based-on": ("input",),
    "send-to-flex": ("workflow", "channel"),
    "send-message": ("body",),
}
HTTP_METHODS = ("GET", "POST")
HTTP_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")
# Split Based On condition types Studio offers; the last four compare dates and times, which the
# emulator does not run (an execution reaching one fails with a clear error).
CONDITION_TYPES = frozenset(
    {
        "equal_to",
        "not_equal_to",
        "matches_any_of",
        "does_not_match_any_of",
        "is_blank",
        "is_not_blank",
        "contains",
        "does_not_contain",
        "starts_with",
        "does_not_start_with",
        "regex",
        "less_than",
        "greater_than",
        "is_before_time",
        "is_after_time",
        "is_before_date",
        "is_after_date",
    }
)


def parse_definition(value: str) -> tuple[JsonObject | None, list[Problem]]:
    """The ``Definition`` form parameter (JSON text) as an object, and its problems."""
    try:
        definition = json.loads(value)
    except json.JSONDecodeError as exc:
        return None, [_problem("#", f"Definition is not valid JSON: {exc.msg}")]
    if not isinstance(definition, dict):
        return None, [_problem("#", "Definition must be a JSON object")]
    return definition, validate_definition(definition)


def validate_definition(definition: Mapping[str, Any]) -> list[Problem]:
    problems = _top_level_problems(definition)
    states = definition.get("states")
    if not isinstance(states, list) or not states:
        problems.append(_problem("#/states", "states must be a non-empty array of widgets"))
        return problems
    names = _widget_names(states, problems)
    triggers = [s for s in states if isinstance(s, dict) and s.get("type") == TRIGGER]
    if len(triggers) != 1:
        problems.append(_problem("#/states", f"a flow has exactly one trigger widget, not {len(triggers)}"))
    initial_state = definition.get("initial_state")
    if isinstance(initial_state, str) and initial_state:
        if initial_state not in names:
            problems.append(_problem("#/initial_state", f"initial_state {initial_state!r} names no widget"))
        elif states[names[initial_state]].get("type") != TRIGGER:
            problems.append(_problem("#/initial_state", "initial_state must name the trigger widget"))
    for index, state in enumerate(states):
        if isinstance(state, dict):
            problems.extend(_widget_problems(state, f"#/states/{index}", names))
    return problems


def _top_level_problems(definition: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    initial_state = definition.get("initial_state")
    if not isinstance(initial_state, str) or not initial_state:
        problems.append(_problem("#/initial_state", "initial_state is required (the trigger's name)"))
    flags = definition.get("flags")
    if flags is not None and not (
        isinstance(flags, dict) and isinstance(flags.get("allow_concurrent_calls"), bool)
    ):
        problems.append(_problem("#/flags", "flags must be an object with boolean allow_concurrent_calls"))
    return problems


def _widget_names(states: list[Any], problems: list[Problem]) -> dict[str, int]:
    """Each widget's name and index; a missing or repeated name is a problem."""
    names: dict[str, int] = {}
    for index, state in enumerate(states):
        if not isinstance(state, dict):
            problems.append(_problem(f"#/states/{index}", "a widget must be an object"))
            continue
        name = state.get("name")
        if not isinstance(name, str) or not name:
            problems.append(_problem(f"#/states/{index}/name", "a widget needs a name"))
        elif name in names:
            problems.append(_problem(f"#/states/{index}/name", f"widget name {name!r} is not unique"))
        else:
            names[name] = index
    return names


def _widget_problems(state: Mapping[str, Any], path: str, names: Mapping[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    widget_type = state.get("type")
    if not isinstance(widget_type, str) or not widget_type:
        problems.append(_problem(f"{path}/type", "a widget needs a type"))
    properties = state.get("properties", {})
    if not isinstance(properties, dict):
        problems.append(_problem(f"{path}/properties", "properties must be an object"))
        properties = {}
    transitions = state.get("transitions", [])
    if not isinstance(transitions, list):
        problems.append(_problem(f"{path}/transitions", "transitions must be an array"))
        transitions = []
    events = WIDGET_EVENTS.get(widget_type) if isinstance(widget_type, str) else None
    for number, transition in enumerate(transitions):
        where = f"{path}/transitions/{number}"
        if not isinstance(transition, dict) or not isinstance(transition.get("event"), str):
            problems.append(_problem(where, "a transition is an object with an event"))
            continue
        if events is not None and transition["event"] not in events:
            problems.append(
                _problem(f"{where}/event", f"{widget_type} has no {transition['event']!r} transition")
            )
        target = transition.get("next")
        if target is not None and (not isinstance(target, str) or target not in names):
            problems.append(_problem(f"{where}/next", f"transition names no widget: {target!r}"))
        if widget_type == "split-based-on" and transition["event"] == "match":
            problems.extend(_condition_problems(transition.get("conditions"), f"{where}/conditions"))
    for key in REQUIRED_PROPERTIES.get(str(widget_type), ()):
        if properties.get(key) in (None, ""):
            problems.append(_problem(f"{path}/properties/{key}", f"{widget_type} requires {key}"))
    if widget_type == "make-http-request":
        problems.extend(_http_problems(properties, f"{path}/properties"))
    if widget_type == "set-variables":
        problems.extend(_key_value_problems(properties.get("variables", []), f"{path}/properties/variables"))
    return problems


def _http_problems(properties: Mapping[str, Any], path: str) -> list[Problem]:
    problems: list[Problem] = []
    method = properties.get("method")
    if method not in (None, "") and str(method).upper() not in HTTP_METHODS:
        problems.append(_problem(f"{path}/method", "method must be GET or POST"))
    content_type = str(properties.get("content_type") or "")
    if content_type and not content_type.lower().startswith(HTTP_CONTENT_TYPES):
        problems.append(
            _problem(f"{path}/content_type", f"content_type must be one of {', '.join(HTTP_CONTENT_TYPES)}")
        )
    if "parameters" in properties:
        problems.extend(_key_value_problems(properties["parameters"], f"{path}/parameters"))
    return problems


def _key_value_problems(items: Any, path: str) -> list[Problem]:
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"] for item in items
    ):
        return [_problem(path, "expected an array of {key, value} objects")]
    return []


def _condition_problems(conditions: Any, path: str) -> list[Problem]:
    if not isinstance(conditions, list) or not conditions:
        return [_problem(path, "a match transition needs conditions")]
    problems: list[Problem] = []
    for index, condition in enumerate(conditions):
        if not isinstance(condition, dict):
            problems.append(_problem(f"{path}/{index}", "a condition must be an object"))
        elif condition.get("type") not in CONDITION_TYPES:
            problems.append(
                _problem(f"{path}/{index}/type", f"unknown condition type {condition.get('type')!r}")
            )
        elif not isinstance(condition.get("arguments", []), list):
            problems.append(_problem(f"{path}/{index}/arguments", "arguments must be an array"))
    return problems


def _problem(path: str, message: str) -> Problem:
    return {"message": message, "property_path": path}
