"""Which AWS actions each function really performs in the local stack, for checking them against
its IAM policy in template.yaml.

moto does not enforce IAM, so a function whose policy lacks an action it uses passes every local
test and fails only in AWS. The recorder wraps botocore's one door for API calls
(``BaseClient._make_api_call``: every client of every session, Powertools' own included) and files
each call under the function running it (``current_function``, set around every
handler invocation by ``devstack.lambda_runtime``), translated into the IAM actions AWS checks: a
TransactWriteItems is authorised item by item as PutItem, UpdateItem, DeleteItem or
ConditionCheckItem.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from devstack.lambda_runtime import current_function

_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class AwsCallRecorder:
    def __init__(self) -> None:
        self.actions: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> None:
        """Record the calls of every botocore client in this process from now on."""
        if self._installed:
            return
        from botocore.client import BaseClient

        make_api_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, not in the stubs
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            recorder.record(client.meta.service_model.signing_name, operation_name, api_params)
            return make_api_call(client, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", recording)  # noqa: B010
        self._installed = True

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        function = current_function.get()
        if function is None:
            return  # a test's own call (setting things up, reading the table), not a function's
        with self._lock:
            self.actions[function] |= iam_actions(service, operation, params)


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> set[str]:
    if service == "dynamodb" and operation == "TransactWriteItems":
        return {
            f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}"
            for item in params.get("TransactItems", [])
            for kind in item
            if kind in _TRANSACT_ITEM_ACTIONS
        }
    return {f"{service}:{operation}"}


#: The stack's recorder: the e2e suite installs it once, before any stack starts.
RECORDER = AwsCallRecorder()


def granted_actions(template: dict[str, Any], function_id: str) -> set[str]:
    """The actions a function's inline policy statements allow (template.yaml)."""
    properties = template["Resources"][function_id]["Properties"]
    granted: set[str] = set()
    for policy in properties.get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Effect") == "Allow":
                action = statement["Action"]
                granted.update([action] if isinstance(action, str) else action)
    return granted


def policy_violations(template: dict[str, Any], recorder: AwsCallRecorder = RECORDER) -> dict[str, set[str]]:
    """For each function seen calling AWS, the actions it performed that its policy does not
    allow (functions with none are left out)."""
    violations = {}
    for function, actions in sorted(recorder.actions.items()):
        missing = actions - granted_actions(template, function)
        if missing:
            violations[function] = missing
    return violations
