"""POST /discord/interactions: verify, parse, route, answer.

Every failure has its answer: 401 for anything not freshly signed by Discord (Discord probes the
endpoint with bad signatures and drops an endpoint that accepts one), 400 for a signed body that
is not an interaction, and an ephemeral apology for a bug on our side, so a member never sees
"This interaction failed" because of a stack trace.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from flexcord.adapters.queue.job_queue import JobQueue
from flexcord.apigateway import BadRequestBody, HttpRequest, error_response, json_response
from flexcord.interactions import responses as reply
from flexcord.interactions.model import Interaction, MalformedInteraction
from flexcord.interactions.routes import route
from flexcord.interactions.signature import SignatureRejected, verify_request
from flexcord.observability import logger


class InteractionsEndpoint:
    def __init__(
        self,
        *,
        public_key: str,
        queue: Callable[[], JobQueue],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._public_key = public_key
        self._queue = queue
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = HttpRequest.from_event(event)
        except (BadRequestBody, TypeError, AttributeError) as problem:
            return error_response(400, f"unreadable request: {problem}")
        try:
            verify_request(request.headers, request.raw_body, self._public_key, now=self._clock)
        except SignatureRejected as rejection:
            logger.info("interaction rejected", extra={"reason": str(rejection)})
            return error_response(401, "invalid request signature")
        try:
            interaction = Interaction.parse(json.loads(request.raw_body))
        # JSONDecodeError is a ValueError; absurdly deep nesting raises RecursionError.
        except (ValueError, RecursionError, MalformedInteraction) as problem:
            logger.info("malformed interaction", extra={"reason": str(problem)})
            return error_response(400, "malformed interaction")
        logger.append_keys(interaction_id=interaction.id)
        try:
            answer = reply.pong() if interaction.type == 1 else route(interaction, self._queue)
        except Exception:
            logger.exception("interaction handling failed", extra={"interaction_type": interaction.type})
            answer = reply.ephemeral_message("Something went wrong on our side. Please try again.")
        finally:
            logger.remove_keys(["interaction_id"])
        return json_response(200, answer)
