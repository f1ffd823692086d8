"""Builds the functions' collaborators from configuration: the one place adapters are chosen and
connected."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

from flexcord.adapters.discord import DiscordClient
from flexcord.adapters.discord.bot import discord_client
from flexcord.adapters.discord.ratelimit import GLOBAL_REQUESTS_PER_SECOND
from flexcord.adapters.queue.job_queue import job_queue
from flexcord.adapters.storage.announcements import (
    DynamoAnnouncementDrafts,
    DynamoAnnouncementLog,
    DynamoScheduledAnnouncements,
)
from flexcord.adapters.storage.case_repository import DynamoCaseRepository
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.feeds import DynamoFeedRepository, DynamoSeenEntries
from flexcord.adapters.storage.job_posts import DynamoJobPosts
from flexcord.adapters.storage.membership_cache import DynamoMembershipCache
from flexcord.adapters.storage.pending_drafts import DynamoPendingDrafts
from flexcord.adapters.storage.reviews import DynamoAnnouncementReviews
from flexcord.adapters.storage.server_settings import DynamoServerSettings
from flexcord.adapters.storage.session_repository import DynamoSessionRepository
from flexcord.adapters.twilio import TwilioGateway
from flexcord.assistant.decide import KnowledgeBase, LazyKnowledgeBase
from flexcord.cases import CaseService
from flexcord.cases.model import NO_SERVER
from flexcord.config import (
    ConfigurationError,
    TwilioSettings,
    aws_settings,
    discord_settings,
    twilio_settings,
)
from flexcord.jobs.access import DmAccess
from flexcord.jobs.announcement_jobs import AnnounceFlow, AnnouncementJobs
from flexcord.jobs.announcement_review import ReviewFlow
from flexcord.jobs.case_jobs import CaseJobs
from flexcord.jobs.case_posts import CasePosts
from flexcord.jobs.case_triage import CaseTriage
from flexcord.jobs.chat_followup import ChatFollowUp
from flexcord.jobs.duplicate_check import DuplicateCheck
from flexcord.jobs.feed_jobs import FeedJobs
from flexcord.jobs.model import Job, JobKind
from flexcord.jobs.setup_jobs import SetupJobs
from flexcord.jobs.support_jobs import SupportChat
from flexcord.jobs.worker import Executor, JobWorker, SelfDeduplicating
from flexcord.secrets import get_secret
from flexcord.servers.channel_check import ChannelChecker
from flexcord.servers.settings import ServerDirectory, ServerSettings


def worker_share_of_global_limit() -> int:
    """Discord allows a bot 50 requests a second in all, and each process limits only itself:
    with at most WORKER_MAX_CONCURRENCY workers at once (the event source mapping's
    MaximumConcurrency), each takes an equal share, so together they never pass the limit."""
    raw = os.environ.get("WORKER_MAX_CONCURRENCY", "").strip() or "1"
    try:
        workers = int(raw)
    except ValueError as error:
        raise ConfigurationError(f"WORKER_MAX_CONCURRENCY must be an integer, got {raw!r}") from error
    return share_of_global_limit(workers)


def share_of_global_limit(workers: int) -> int:
    """Requests a second each of ``workers`` instances may send to Discord (at least one)."""
    return max(1, GLOBAL_REQUESTS_PER_SECOND // max(1, workers))


def twilio_gateway(settings: TwilioSettings) -> TwilioGateway:
    from twilio.rest import Client

    from flexcord.adapters.twilio.http import http_client

    auth_token = get_secret("TWILIO_AUTH_TOKEN")
    client = Client(settings.account_sid, auth_token, http_client=http_client(settings.api_base_url))
    return TwilioGateway(
        client,
        account_sid=settings.account_sid,
        auth_token=auth_token,
        chat_service_sid=settings.chat_service_sid,
        api_base_url=settings.api_base_url,
    )


def _table_name() -> str:
    table_name = aws_settings().table_name
    if not table_name:
        raise ConfigurationError("TABLE_NAME is not set")
    return table_name


@cache
def session_repository() -> DynamoSessionRepository:
    return DynamoSessionRepository(dynamodb_client(), _table_name())


@cache
def case_service() -> CaseService:
    return CaseService(
        DynamoCaseRepository(dynamodb_client(), _table_name()),
        default_server=discord_settings().default_guild_id,
    )


@cache
def server_directory() -> ServerDirectory:
    settings = discord_settings()
    # With no configured server, the template's settings are every server's defaults.
    defaults = ServerSettings(
        guild_id=settings.default_guild_id or NO_SERVER,
        bug_report_channel_id=settings.bug_report_channel_id,
        feature_request_channel_id=settings.feature_request_channel_id,
        support_channel_id=settings.support_channel_id,
        staff_role_id=settings.staff_role_id,
    )
    return ServerDirectory(DynamoServerSettings(dynamodb_client(), _table_name()), defaults=defaults)


@cache
def knowledge_base() -> KnowledgeBase:
    """The help centre the assistant answers from: the articles shipped in the layer (indexed at
    build time, loaded in a few milliseconds), a folder named by KB_DIR, or, when
    KB_BEDROCK_KNOWLEDGE_BASE_ID is set, an Amazon Bedrock Knowledge Base (off by default)."""
    bedrock_id = os.environ.get("KB_BEDROCK_KNOWLEDGE_BASE_ID")
    if bedrock_id:
        from flexcord.kb.bedrock import BedrockKnowledgeBase

        return BedrockKnowledgeBase(bedrock_id)
    from flexcord.kb import load_knowledge_base

    folder = os.environ.get("KB_DIR")
    return load_knowledge_base(Path(folder) if folder else None)


def build_worker() -> JobWorker:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = discord_settings()
    table_name = _table_name()
    discord = discord_client(settings, global_limit=worker_share_of_global_limit())
    posts = CasePosts(case_service(), discord, server_directory())
    duplicates = DuplicateCheck(
        case_service(),
        discord,
        DynamoPendingDrafts(dynamodb_client(), table_name),
        on_supported=posts.refresh,
    )
    cases = CaseJobs(case_service(), discord, server_directory(), posts, duplicates=duplicates)
    triage = CaseTriage(case_service(), discord, server_directory(), posts)
    executors: dict[JobKind, Executor] = {
        JobKind.CREATE_CASE: cases.create_case,
        JobKind.SHOW_CASE: cases.show_case,
        JobKind.LIST_CASES: cases.list_cases,
        JobKind.UPDATE_CASE: triage.update_case,
        JobKind.LIST_SERVER_CASES: triage.list_server_cases,
        JobKind.SUPPORT_CASE: triage.support_case,
        JobKind.ADD_CASE_DETAILS: triage.add_details,
        JobKind.DUPLICATE_CHOICE: partial(duplicates.choose, file_case=cases.create_case),
    }
    # For a bot, the bot user's id is its application's id.
    checker = ChannelChecker(discord, bot_user_id=settings.application_id)
    setup = SetupJobs(server_directory(), discord, checker)
    executors |= {JobKind.SETUP_SHOW: setup.show, JobKind.SETUP_CHANGE: setup.change}
    scheduled = DynamoScheduledAnnouncements(dynamodb_client(), table_name)

    def submit_for_review(job: Job) -> dict[str, Any]:
        # The poster hands review-first announcements to the review, whose Approve runs the
        # poster: each needs the other, so the poster reaches the review (built below) late.
        return review.submit(job)

    announcements = AnnouncementJobs(
        server_directory(),
        discord,
        DynamoAnnouncementLog(dynamodb_client(), table_name),
        scheduled,
        allowed_guild_ids=settings.allowed_guild_ids,
        review=submit_for_review,
    )
    review = ReviewFlow(
        server_directory(),
        discord,
        DynamoAnnouncementReviews(dynamodb_client(), table_name),
        post=announcements.post,
    )
    announce = AnnounceFlow(
        server_directory(),
        discord,
        DynamoAnnouncementDrafts(dynamodb_client(), table_name),
        announcements,
        scheduled,
    )
    executors |= {
        JobKind.POST_ANNOUNCEMENT: announcements.post,
        JobKind.REVIEW_DECIDE: review.decide,
        JobKind.REVIEW_EDIT: review.edit,
        JobKind.ANNOUNCE_DRAFT: announce.draft,
        JobKind.ANNOUNCE_DECIDE: announce.decide,
        JobKind.ANNOUNCE_LIST: announce.list_scheduled,
        JobKind.ANNOUNCE_CANCEL: announce.cancel_scheduled,
    }
    executors |= _feed_executors(discord, table_name)
    chat: SupportChat | None = None
    if os.environ.get("TWILIO_ACCOUNT_SID"):
        twilio = twilio_gateway(twilio_settings())
        chat = SupportChat(
            sessions=session_repository(),
            cases=case_service(),
            discord=discord,
            twilio=twilio,
            servers=server_directory(),
            discord_settings=settings,
            twilio_settings=twilio_settings(),
            knowledge_base=LazyKnowledgeBase(knowledge_base)
            if os.environ.get("ASSISTANT_ENABLED", "true") != "false"
            else None,
        )
        executors |= {
            JobKind.OPEN_CHAT: chat.open_chat,
            JobKind.MEMBER_MESSAGE: chat.member_message,
            JobKind.REQUEST_AGENT: chat.request_agent,
            JobKind.END_CHAT: chat.end_chat,
            JobKind.CONVERSATION_EVENT: chat.conversation_event,
            JobKind.ASSISTANT_HELPED: chat.helped,
            JobKind.ASSISTANT_REPLY: chat.assistant_reply,
            JobKind.LEAVE_MESSAGE: chat.leave_message,
        }
        follow_up = ChatFollowUp(cases=case_service(), discord=discord, twilio=twilio)
        executors |= {
            JobKind.RATE_CHAT: follow_up.rate,
            JobKind.COMMENT_CHAT: follow_up.comment,
            JobKind.SEND_TRANSCRIPT: follow_up.transcript,
        }
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#worker",
        expiry_attr="expires_at",
        boto3_client=dynamodb_client(),
    )
    return JobWorker(
        executors=executors,
        discord=discord,
        persistence=persistence,
        max_receive_count=aws_settings().job_max_receive_count,
        queue=job_queue() if aws_settings().job_queue_url else None,
        report_undelivered=partial(
            _report_undelivered, announcements=announcements, chat=chat.report_undelivered if chat else None
        ),
        dm_access=DmAccess(
            allowed_guild_ids=settings.allowed_guild_ids,
            discord=discord,
            cache=DynamoMembershipCache(dynamodb_client(), table_name),
        ),
        self_deduplicating=(
            SelfDeduplicating(
                covers=chat.deduplicates_itself,
                done=chat.relayed_earlier,
                deferrable=chat.is_agent_message_relay,
            )
            if chat
            else None
        ),
        job_posts=DynamoJobPosts(dynamodb_client(), table_name),
    )


def _feed_executors(discord: DiscordClient, table_name: str) -> dict[JobKind, Executor]:
    from flexcord.feeds.fetch import FeedFetcher

    # Only the local stack sets it: its sample feeds are served on loopback.
    allow_private = os.environ.get("FEEDS_ALLOW_PRIVATE_URLS", "").lower() == "true"
    feeds = FeedJobs(
        server_directory(),
        discord,
        DynamoFeedRepository(dynamodb_client(), table_name),
        DynamoSeenEntries(dynamodb_client(), table_name),
        # A read ends within 12 s: less than the time the worker keeps to start a job, so a
        # slow feed never runs a batch into the Lambda timeout.
        FeedFetcher(allow_private=allow_private, total_seconds=12.0, read_timeout=8.0),
        queue=job_queue(),
    )
    return {
        JobKind.FEEDS_ADD: feeds.add,
        JobKind.FEEDS_LIST: feeds.list_feeds,
        JobKind.FEEDS_TEST: feeds.test,
        JobKind.FEEDS_REMOVE: feeds.remove,
        JobKind.FEEDS_RESUME: feeds.resume,
        JobKind.FEED_POLL: feeds.poll,
    }


def _report_undelivered(
    job: Job, *, announcements: AnnouncementJobs, chat: Callable[[Job], bool] | None
) -> bool:
    """Who hears of a failed job no member's interaction asked for: staff for an announcement,
    the member for an agent's message."""
    if job.kind is JobKind.POST_ANNOUNCEMENT:
        return announcements.report_undelivered(job)
    if job.kind is JobKind.FEED_POLL:
        return False  # the feed is still due: the scheduler queues its poll again
    return chat is not None and chat(job)
