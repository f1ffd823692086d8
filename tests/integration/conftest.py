from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devstack.aws_resources import LocalResources, create_resources
from devstack.moto_server import MotoOnLoopback
from devstack.stack import LOCAL_AWS_ENVIRONMENT
from devstack.template import load_template


@pytest.fixture
def aws() -> Iterator[LocalResources]:
    """moto on loopback with the template's table and queues, boto3 pointed at it the standard way."""
    moto = MotoOnLoopback()
    saved = dict(os.environ)
    try:
        os.environ.update({**LOCAL_AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": moto.start()})
        yield create_resources(load_template())
    finally:
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        from flexcord.adapters.storage.dynamodb import dynamodb_client

        dynamodb_client.cache_clear()
