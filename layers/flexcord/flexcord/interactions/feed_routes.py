"""``/feeds add|list|test|remove|resume`` at the endpoint: the options are checked here, so a
mistake is explained at once and nothing is queued; the worker does the rest (reading the feed,
which needs the network, and every check that needs the server's settings).

Who may use it is checked as for /announce: the endpoint lets through members with Manage Server
or with any role, and the worker checks Manage Server or the server's staff role. A feed id is
looked up in the caller's own server only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flexcord.feeds.filters import parse_filter_terms
from flexcord.feeds.policy import DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS
from flexcord.feeds.subscription import MAX_BACKFILL
from flexcord.feeds.template import DEFAULT_TEMPLATE, validate_template
from flexcord.interactions import responses as reply
from flexcord.interactions.access import may_be_staff
from flexcord.interactions.model import Interaction
from flexcord.interactions.responses import InteractionResponse
from flexcord.interactions.setup_routes import Decision, Enqueue
from flexcord.jobs.model import Job, JobKind

URL_MAX = 500
MIN_EVERY_MINUTES = MIN_INTERVAL_SECONDS // 60
MAX_EVERY_MINUTES = 24 * 60
NOT_STAFF = (
    "Only this server's staff (Manage Server or the staff role) can manage feeds. Nothing was changed."
)
SERVERS_ONLY = "Use `/feeds` in your server: feeds post in a server's channels."
_ID = re.compile(r"[0-9]{1,25}")
_BY_ID = {"test": JobKind.FEEDS_TEST, "remove": JobKind.FEEDS_REMOVE, "resume": JobKind.FEEDS_RESUME}


def command(interaction: Interaction) -> Decision:
    refusal = _refusal(interaction)
    if refusal is not None:
        return refusal
    subcommand = interaction.subcommand
    if subcommand == "add":
        return _add(interaction)
    if subcommand == "list":
        return Enqueue(Job.for_interaction(JobKind.FEEDS_LIST, interaction.context), reply.deferred_ephemeral)
    if subcommand in _BY_ID:
        feed_id = str(interaction.option("id") or "").strip().strip("`")
        if not _ID.fullmatch(feed_id):
            return reply.ephemeral_message(
                f"Give the id `/feeds list` shows, like `/feeds {subcommand} id:123`."
            )
        job = Job.for_interaction(_BY_ID[subcommand], interaction.context, {"id": feed_id})
        return Enqueue(job, reply.deferred_ephemeral)
    return reply.ephemeral_message("Use `/feeds add`, `list`, `test`, `remove` or `resume`.")


def _add(interaction: Interaction) -> InteractionResponse | Enqueue:
    url = str(interaction.option("url") or "").strip()
    problem = url_problem(url)
    if problem:
        return reply.ephemeral_message(f"Not added: {problem}")
    template = str(interaction.option("template") or "").replace("\\n", "\n").strip() or DEFAULT_TEMPLATE
    try:
        validate_template(template)
        include = parse_filter_terms(str(interaction.option("include") or ""))
        exclude = parse_filter_terms(str(interaction.option("exclude") or ""))
    except ValueError as invalid:
        return reply.ephemeral_message(f"Not added: {invalid}")
    backfill = interaction.option("backfill")
    if backfill is not None and (not isinstance(backfill, int) or not 0 <= backfill <= MAX_BACKFILL):
        return reply.ephemeral_message(f"Not added: backfill is 0 to {MAX_BACKFILL} entries.")
    every = interaction.option("every")
    if every is not None and (
        not isinstance(every, int) or not MIN_EVERY_MINUTES <= every <= MAX_EVERY_MINUTES
    ):
        return reply.ephemeral_message(
            f"Not added: read it every {MIN_EVERY_MINUTES} to {MAX_EVERY_MINUTES} minutes."
        )
    channel = str(interaction.option("channel") or "")
    role = interaction.option("role")
    payload = {
        "url": url,
        "channel_id": channel,
        "template": template,
        "include": list(include),
        "exclude": list(exclude),
        "role_id": str(role) if role and _ID.fullmatch(str(role)) else None,
        "review_first": interaction.option("review_first") is True,
        "backfill": backfill or 0,
        "interval_seconds": (every or DEFAULT_INTERVAL_SECONDS // 60) * 60,
    }
    if not _ID.fullmatch(channel):
        return reply.ephemeral_message("Not added: pick the channel to post in.")
    return Enqueue(
        Job.for_interaction(JobKind.FEEDS_ADD, interaction.context, payload), reply.deferred_ephemeral
    )


def url_problem(url: str) -> str:
    """What is wrong with the address as written ("" when nothing); whether it is public is the
    worker's to check, as it needs DNS."""
    if not url:
        return "give the feed's address."
    if len(url) > URL_MAX:
        return f"the address is longer than {URL_MAX} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it ("http://host:99999" is refused here)
    except ValueError:
        return "that is not a web address."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the address must start with https:// (or http://) and name a host."
    if parts.username or parts.password:
        return "the address must not carry a user name or password."
    return ""


def _refusal(interaction: Interaction) -> InteractionResponse | None:
    if interaction.context.guild_id is None:
        return reply.ephemeral_message(SERVERS_ONLY)
    return None if may_be_staff(interaction.context) else reply.ephemeral_message(NOT_STAFF)
