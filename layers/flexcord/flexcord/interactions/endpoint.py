"""POST /discord/interactions: verify, parse, route, answer.

Every failure has its answer: 413 for a body larger than any interaction (checked before it is
decoded), 401 for anything not freshly signed by Discord (Discord probes the endpoint with bad
signatures and drops an endpoint that accepts one), 400 for a signed body that is not an
interaction, and an ephemeral apology for a bug on our side, so a member never sees "This
interaction failed" because of a stack trace.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flexcord.apigateway import HttpRequest, RequestRejected, error_response, json_response
from flexcord.interactions import responses as reply
from flexcord.interactions.access import MemberRateLimiter, NoRateLimit, ServerAllowList
from flexcord.interactions.model import Interaction, MalformedInteraction
from flexcord.interactions.responses import InteractionResponse
from flexcord.interactions.services import Services
from flexcord.interactions.signature import SignatureRejected, verify_request
from flexcord.observability import logger

if TYPE_CHECKING:
    from flexcord.adapters.queue.job_queue import JobQueue

#: The largest interaction Discord sends is far below this: a modal submit carries at most five
#: top-level components (text inputs up to 4,000 characters each, escaped in JSON up to 6 bytes a
#: character: about 120 KB) plus its resolved attachments (10 files, under 1 KB each); a button
#: press carries its message (2,000 characters of content, 6,000 of embeds). 256 KiB keeps that
#: worst case with room to spare, and refuses megabytes before they are verified and parsed.
MAX_BODY_BYTES = 256 * 1024


class InteractionsEndpoint:
    def __init__(
        self,
        *,
        public_key: str,
        queue: Callable[[], JobQueue],
        clock: Callable[[], float] = time.time,
        servers: ServerAllowList | None = None,
        rate_limiter: MemberRateLimiter | None = None,
    ) -> None:
        self._public_key = public_key
        self._services = Services(
            queue=queue,
            servers=servers if servers is not None else ServerAllowList(),
            rate_limiter=rate_limiter if rate_limiter is not None else NoRateLimit(),
        )
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = HttpRequest.from_event(event, max_body_bytes=MAX_BODY_BYTES)
        except RequestRejected as rejection:
            return rejection.response()
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
            answer = reply.pong() if interaction.type == 1 else self._route(interaction)
        except Exception:
            logger.exception("interaction handling failed", extra={"interaction_type": interaction.type})
            answer = reply.ephemeral_message("Something went wrong on our side. Please try again.")
        finally:
            logger.remove_keys(["interaction_id"])
        return json_response(200, answer)

    def _route(self, interaction: Interaction) -> InteractionResponse:
        # Every command's form and job loads with the first interaction that needs one: the PING
        # Discord sends when the endpoint's URL is saved, and after, answers without them.
        from flexcord.interactions.routes import route

        return route(interaction, self._services)
