"""The part of Liquid that Studio widget properties use: ``{{ variable | filter }}``.

``{{trigger.conversation.Body}}``, ``{{widgets.ask.parsed.task.case_number}}``,
``{{widgets.ask.parsed.items[0]}}`` and ``{{ "text" }}`` are looked up in the execution's context;
``| to_json`` JSON-encodes the value (a string becomes a quoted, escaped JSON string). As in Liquid,
a variable that does not exist renders as an empty string (``| to_json`` makes it ``null``), ``true``
renders as ``true``, and numbers as written. Objects and arrays render as JSON. Tags
(``{% if %}``...) and other filters are not emulated: they raise :class:`LiquidError`, which fails
the execution with a clear error rather than sending something Studio would not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_OUTPUT = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_STRING_LITERAL = re.compile(r"""^(?:"([^"]*)"|'([^']*)')$""")
_NUMBER_LITERAL = re.compile(r"^-?\d+(?:\.\d+)?$")
_PATH_START = re.compile(r"[A-Za-z_][\w-]*")
_PATH_PART = re.compile(r"""\.([\w-]+)|\[(-?\d+)\]|\["([^"]*)"\]|\['([^']*)'\]""")


class LiquidError(ValueError):
    """A template the emulator cannot render the way Studio would."""


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


FILTERS: dict[str, Callable[[Any], str]] = {"to_json": _to_json}


def render(template: str, context: Mapping[str, Any]) -> str:
    """``template`` with each ``{{ ... }}`` replaced by its value from ``context``."""
    if "{%" in template:
        raise LiquidError(f"Liquid tags ({{% ... %}}) are not emulated: {template!r}")
    return _OUTPUT.sub(lambda match: _evaluate(match.group(1), context), template)


def _evaluate(expression: str, context: Mapping[str, Any]) -> str:
    variable, *filters = (part.strip() for part in expression.split("|"))
    value = _value(variable, context)
    if not filters:
        return to_text(value)
    for name in filters:
        apply = FILTERS.get(name)
        if apply is None:
            raise LiquidError(f"the Liquid filter {name!r} is not emulated (only {', '.join(FILTERS)})")
        value = apply(value)
    return str(value)


def _value(expression: str, context: Mapping[str, Any]) -> Any:
    literal = _STRING_LITERAL.match(expression)
    if literal:
        return literal.group(1) if literal.group(1) is not None else literal.group(2)
    if _NUMBER_LITERAL.match(expression):
        return float(expression) if "." in expression else int(expression)
    if expression in ("true", "false"):
        return expression == "true"
    if expression in ("nil", "null", ""):
        return None
    return lookup(context, expression)


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """``a.b[0]["c d"]`` in ``context``; None when any step is missing (Liquid's nil)."""
    start = _PATH_START.match(path)
    if start is None:
        raise LiquidError(f"not a Liquid variable: {path!r}")
    keys: list[str | int] = [start.group(0)]
    position = start.end()
    while position < len(path):
        part = _PATH_PART.match(path, position)
        if part is None:
            raise LiquidError(f"not a Liquid variable: {path!r}")
        name, index, double, single = part.groups()
        keys.append(
            int(index) if index is not None else next(k for k in (name, double, single) if k is not None)
        )
        position = part.end()
    value: Any = context
    for key in keys:
        value = _step(value, key)
        if value is None:
            return None
    return value


def _step(value: Any, key: str | int) -> Any:
    if isinstance(value, Mapping):
        return value.get(key) if isinstance(key, str) else None
    if isinstance(value, list):
        if isinstance(key, int):
            return value[key] if -len(value) <= key < len(value) else None
        if key in ("first", "last"):
            return (value[0] if key == "first" else value[-1]) if value else None
    if key == "size" and isinstance(value, (list, str)):
        return len(value)
    return None


def to_text(value: Any) -> str:
    """How Liquid writes a value out."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
