"""Reads template.yaml, the one source of truth for the functions, the table and the queues, so the
local stack runs what the deploy would create."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class TemplateError(RuntimeError):
    pass


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, problems = decode_str(path.read_text())
    if problems or not isinstance(template, dict):
        raise TemplateError(f"{path} could not be read: {problems}")
    return dict(template)


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = template["Resources"][logical_id]
    except KeyError as error:
        raise TemplateError(f"template.yaml has no resource {logical_id}") from error
    return found


def parameter_default(template: dict[str, Any], name: str) -> Any:
    return template.get("Parameters", {}).get(name, {}).get("Default")


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function_id: str
    handler_file: Path
    handler_name: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler_file: Path
    handler_name: str
    timeout_seconds: int
    memory_mb: int = 128


def function_spec(template: dict[str, Any], logical_id: str) -> FunctionSpec:
    properties = resource(template, logical_id)["Properties"]
    globals_ = template.get("Globals", {}).get("Function", {})
    module, _, name = str(properties.get("Handler") or globals_.get("Handler")).rpartition(".")
    timeout = properties.get("Timeout", globals_.get("Timeout", 3))
    memory = properties.get("MemorySize", globals_.get("MemorySize", 128))
    return FunctionSpec(
        logical_id=logical_id,
        handler_file=ROOT / str(properties["CodeUri"]) / f"{module.replace('.', '/')}.py",
        handler_name=name,
        timeout_seconds=int(timeout) if isinstance(timeout, int | str) else 3,
        memory_mb=int(memory) if isinstance(memory, int | str) else 128,
    )


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    routes = []
    for logical_id, definition in template["Resources"].items():
        if definition.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (definition.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            spec = function_spec(template, logical_id)
            routes.append(
                HttpRoute(
                    method=str(event["Properties"]["Method"]).upper(),
                    path=str(event["Properties"]["Path"]),
                    function_id=logical_id,
                    handler_file=spec.handler_file,
                    handler_name=spec.handler_name,
                )
            )
    return routes
