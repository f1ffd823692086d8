"""moto's server on loopback: DynamoDB and SQS for the local stack and the tests, reached through
boto3's standard AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging

import requests


class MotoOnLoopback:
    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint_url = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # moto keeps its state per process, shared by every server in it: start from nothing.
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        return self.endpoint_url

    def stop(self) -> None:
        self._server.stop()
