"""Creates the template's DynamoDB table and SQS queues in moto, from their CloudFormation
properties, and says where they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from devstack.template import TemplateError, parameter_default, resource

TABLE_ID, JOB_QUEUE_ID, DEAD_LETTER_QUEUE_ID = "FlexcordTable", "JobQueue", "JobDeadLetterQueue"
LOCAL_PREFIX = "flexcord-local"


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    job_queue_url: str
    job_queue_arn: str
    dead_letter_queue_url: str
    max_receive_count: int


def create_resources(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> LocalResources:
    resolver = _Resolver(template, parameters or {})
    table_name = _create_table(resource(template, TABLE_ID)["Properties"], resolver)
    dlq_url, dlq_arn = _create_queue(
        DEAD_LETTER_QUEUE_ID, resource(template, DEAD_LETTER_QUEUE_ID)["Properties"], resolver
    )
    resolver.arns[DEAD_LETTER_QUEUE_ID] = dlq_arn
    job_properties = resource(template, JOB_QUEUE_ID)["Properties"]
    queue_url, queue_arn = _create_queue(JOB_QUEUE_ID, job_properties, resolver)
    redrive = resolver.resolve(job_properties.get("RedrivePolicy") or {})
    return LocalResources(
        table_name=table_name,
        job_queue_url=queue_url,
        job_queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        max_receive_count=int(redrive.get("maxReceiveCount", 0)),
    )


class _Resolver:
    """Resolves the intrinsics these resources use: Ref to a parameter, GetAtt of a queue's Arn."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        self._template = template
        self._parameters = parameters
        self.arns: dict[str, str] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                if name in self._parameters:
                    return self._parameters[name]
                default = parameter_default(self._template, name)
                if default is None:
                    raise TemplateError(f"parameter {name} has no default and no local value")
                return default
            if set(value) == {"Fn::GetAtt"}:
                logical_id, attribute = value["Fn::GetAtt"]
                if attribute == "Arn" and logical_id in self.arns:
                    return self.arns[logical_id]
                raise TemplateError(f"cannot resolve GetAtt {logical_id}.{attribute} locally")
            if len(value) == 1 and next(iter(value)).startswith("Fn::"):
                raise TemplateError(f"cannot resolve {next(iter(value))} locally")
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


def _create_table(properties: dict[str, Any], resolver: _Resolver) -> str:
    client = boto3.client("dynamodb")
    name = f"{LOCAL_PREFIX}-table"
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": resolver.resolve(properties["AttributeDefinitions"]),
        "KeySchema": resolver.resolve(properties["KeySchema"]),
        "BillingMode": resolver.resolve(properties.get("BillingMode", "PAY_PER_REQUEST")),
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = resolver.resolve(properties["GlobalSecondaryIndexes"])
    client.create_table(**arguments)
    ttl = resolver.resolve(properties.get("TimeToLiveSpecification") or {})
    if ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    return name


def _create_queue(logical_id: str, properties: dict[str, Any], resolver: _Resolver) -> tuple[str, str]:
    client = boto3.client("sqs")
    resolved = resolver.resolve(
        {key: value for key, value in properties.items() if key not in ("Tags", "QueueName")}
    )
    fifo = bool(resolved.get("FifoQueue"))
    name = f"{LOCAL_PREFIX}-{logical_id}" + (".fifo" if fifo else "")
    attributes: dict[Any, str] = {}
    for key, value in resolved.items():
        if key == "RedrivePolicy":
            attributes[key] = _json(value)
        elif isinstance(value, bool):
            attributes[key] = "true" if value else "false"
        else:
            attributes[key] = str(value)
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
