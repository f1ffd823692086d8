"""The whole system on one machine: moto (DynamoDB, SQS) on loopback with the template's table and
queues, the Discord emulator, the local gateway serving the HTTP functions, the queue poller
feeding the worker, and the slash commands registered through the real custom resource."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from devstack.aws_resources import LocalResources, create_resources
from devstack.console import ConsoleServer
from devstack.discord_emulator import DiscordEmulator
from devstack.gateway import LocalGateway, Route
from devstack.lambda_runtime import LocalLambdaContext, load_handler
from devstack.moto_server import MotoOnLoopback, MotoProcess
from devstack.poller import SqsPoller
from devstack.sample_feeds import SampleFeeds
from devstack.scheduler_clock import LocalScheduler
from devstack.template import function_spec, http_routes, load_template, parameter_default
from devstack.twilio_emulator import TwilioEmulator

log = logging.getLogger("devstack")
EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"

LOCAL_AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "POWERTOOLS_METRICS_NAMESPACE": "Flexcord",
    "POWERTOOLS_SERVICE_NAME": "flexcord",
}


@dataclass(frozen=True)
class StackPorts:
    """Where each part listens on 127.0.0.1 (0: a free port the system picks)."""

    moto: int = 0
    discord: int = 0
    gateway: int = 0
    twilio: int = 0
    sample_feeds: int = 0
    console: int = 0

    def check_free(self, host: str = "127.0.0.1") -> None:
        """Raises ``PortInUse`` for the first port asked for that something else holds: a quick
        look before starting anything (``LocalStack.start`` still reports one taken meanwhile)."""
        for part in fields(self):
            port = getattr(self, part.name)
            if port:
                with _listening(part.name, port), socket.create_server((host, port)):
                    pass


class PortInUse(RuntimeError):
    """A part of the stack could not listen on the port asked for: something else has it."""

    def __init__(self, part: str, port: int) -> None:
        super().__init__(f"port {port} ({part}) is already in use")
        #: The ``StackPorts`` field: moto, discord, gateway, twilio, sample_feeds or console.
        self.part = part
        self.port = port


@contextmanager
def _listening(part: str, port: int) -> Iterator[None]:
    """Turns the bind error of a taken port into ``PortInUse``, naming the part and the port."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE and port:
            raise PortInUse(part, port) from error
        raise


class LocalStack:
    def __init__(
        self,
        *,
        ports: StackPorts = StackPorts(),
        retry_delay_seconds: int = 1,
        use_published_test_key: bool = False,
        parameters: dict[str, Any] | None = None,
        duplicate_webhooks: bool = False,
        studio: bool = False,
        poller_options: dict[str, Any] | None = None,
        extra_guilds: Sequence[str] = (),
        moto_in_own_process: bool = False,
    ) -> None:
        """``use_published_test_key`` makes the Discord emulator sign with the key in events/, so
        the sample events (re-signed) and the emulator are both accepted by the one endpoint;
        tests leave it off and the emulator signs with a fresh key of its own. ``parameters``
        overrides template parameter defaults (e.g. ``{"JobMaxReceiveCount": 2}``).
        ``extra_guilds``: more emulated servers, by name, that the one deployment serves besides
        the first (their ids are ``discord.guild_ids[1:]``). ``moto_in_own_process``: moto serves
        from a child process instead of a thread of this one (benchmarks under load)."""
        self._parameters = parameters or {}
        #: Twilio delivers every webhook twice (tests of deduplication).
        self._duplicate_webhooks = duplicate_webhooks
        #: False: the direct path (the worker answers and hands off itself); True: the Studio path,
        #: with the shipped flow uploaded to the emulator by the real setup command.
        self._studio = studio
        self.studio_setup: Any = None
        self._ports = ports
        self._use_published_test_key = use_published_test_key
        self._retry_delay_seconds = retry_delay_seconds
        #: More ``SqsPoller`` arguments (chaos runs: ``concurrency``, ``retry_delay``, ``faults``,
        #: ``crash_visibility_seconds``, ``batch_size``, ``timeout_seconds``).
        self._poller_options = dict(poller_options or {})
        self._extra_guilds = tuple(extra_guilds)
        self._extra_guild_ids: list[str] = []
        self._template = load_template()
        self._moto: MotoOnLoopback | MotoProcess | None = None
        self._moto_in_own_process = moto_in_own_process
        self.discord: DiscordEmulator | None = None
        self.twilio: TwilioEmulator | None = None
        self.sample_feeds: SampleFeeds | None = None
        self.gateway: LocalGateway | None = None
        #: The web console: the member's Discord and the agent's Flex in a browser.
        self.console: ConsoleServer | None = None
        self.poller: SqsPoller | None = None
        #: SchedulerFunction's every-minute rule, and the stack's movable clock.
        self.scheduler: LocalScheduler | None = None
        self.resources: LocalResources | None = None
        self._saved_environment: dict[str, str] = {}
        #: What the CommandsFunction PUT to its ResponseURL, as CloudFormation would receive it.
        self.cloudformation_responses: list[dict[str, Any]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Starts every part; a port asked for that is taken raises ``PortInUse``."""
        self._moto = (MotoProcess if self._moto_in_own_process else MotoOnLoopback)(self._ports.moto)
        with _listening("moto", self._ports.moto):
            endpoint_url = self._moto.start()
        self._set_environment({**LOCAL_AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint_url})
        self.resources = create_resources(self._template, self._parameters)

        self.discord = DiscordEmulator(port=self._ports.discord, signing_key=self._signing_key())
        with _listening("discord", self._ports.discord):
            self.discord.start()
        self._extra_guild_ids = [self.discord.add_guild(name) for name in self._extra_guilds]
        _store_secret(BOT_TOKEN_SECRET_NAME, self.discord.bot_token)
        self.twilio = TwilioEmulator(
            port=self._ports.twilio,
            duplicate_deliveries=self._duplicate_webhooks,
            auth_token=self._published_keys()["twilio_test_auth_token"]
            if self._use_published_test_key
            else TWILIO_EMULATOR_TOKEN,
        )
        with _listening("twilio", self._ports.twilio):
            self.twilio.start()
        _store_secret(TWILIO_TOKEN_SECRET_NAME, self.twilio.auth_token)
        _store_secret(ANNOUNCEMENTS_WEBHOOK_SECRET_NAME, ANNOUNCEMENTS_WEBHOOK_SECRET)
        with _listening("sample_feeds", self._ports.sample_feeds):
            self.sample_feeds = SampleFeeds(port=self._ports.sample_feeds).start()

        with _listening("gateway", self._ports.gateway):
            self.gateway = LocalGateway(port=self._ports.gateway)
        self._set_environment(self._function_environment(self.discord, self.twilio, self.resources))
        _forget_cached_clients()
        for route in http_routes(self._template):
            handler = load_handler(route.handler_file, route.handler_name, f"local_{route.function_id}")
            spec = function_spec(self._template, route.function_id)
            self.gateway.add_route(
                Route(route.method, route.path, route.function_id, handler, spec.timeout_seconds)
            )
        self.gateway.add_plain_route("PUT", "/_cloudformation/response", self._receive_cfn_response)
        self.gateway.start()
        self.discord.interactions_url = f"{self.gateway.base_url}/discord/interactions"

        self.deploy_commands()
        if self._studio:
            self._set_up_studio()

        worker = function_spec(self._template, "WorkerFunction")
        self.worker_handler = load_handler(worker.handler_file, worker.handler_name, "local_WorkerFunction")
        self.poller = SqsPoller(
            queue_url=self.resources.job_queue_url,
            queue_arn=self.resources.job_queue_arn,
            handler=self.worker_handler,
            function_name="WorkerFunction",
            **{
                "timeout_seconds": worker.timeout_seconds,
                "retry_delay_seconds": self._retry_delay_seconds,
                **self._poller_options,
            },
        )
        self.poller.start()

        spec = function_spec(self._template, "SchedulerFunction")
        self.scheduler = LocalScheduler(
            load_handler(spec.handler_file, spec.handler_name, "local_SchedulerFunction"),
            timeout_seconds=spec.timeout_seconds,
        )
        self.gateway.add_plain_route("POST", "/_devstack/clock", self._move_clock)
        # The sample feeds follow the stack's clock: moving it brings their new entries.
        self.scheduler.on_advance(self.sample_feeds.advance)
        with _listening("console", self._ports.console):
            self.console = ConsoleServer(
                discord_url=self.discord.base_url,
                twilio_url=self.twilio.base_url,
                bot_token=self.discord.bot_token,
                port=self._ports.console,
            ).start()
        return self

    def stop(self) -> None:
        parts = (
            self.console,
            self.scheduler,
            self.poller,
            self.gateway,
            self.sample_feeds,
            self.twilio,
            self.discord,
            self._moto,
        )
        for part in parts:
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("stopping %s failed", part)
        for name, value in self._saved_environment.items():
            if value == "":
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
        _forget_cached_clients()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the deploy's custom resource -----------------------------------------------------------

    def deploy_commands(self, request_type: str = "Create") -> dict[str, Any]:
        """Run CommandsFunction with the event CloudFormation sends on a deploy, and return the
        response it PUT to the ResponseURL."""
        assert self.discord is not None and self.gateway is not None
        spec = function_spec(self._template, "CommandsFunction")
        handler = load_handler(
            spec.handler_file, spec.handler_name, f"local_CommandsFunction_{uuid.uuid4().hex}"
        )
        event = custom_resource_event(
            request_type,
            response_url=f"{self.gateway.base_url}/_cloudformation/response",
            # Global commands, as most deployments use: guild commands never appear in DMs,
            # where the support chat happens.
            properties={"ApplicationId": self.discord.application_id, "GuildId": ""},
        )
        handler(
            event, LocalLambdaContext(function_name="CommandsFunction", timeout_seconds=spec.timeout_seconds)
        )
        response = self.cloudformation_responses[-1]
        if response.get("Status") != "SUCCESS":
            raise RuntimeError(f"command registration failed: {response.get('Reason')}")
        return response

    def _set_up_studio(self) -> None:
        """Run scripts/setup_twilio.py's setup against the emulator, as a deployer would against
        Twilio, and point the functions at the flow it created."""
        assert self.twilio is not None
        assert self.gateway is not None
        from scripts.setup_twilio import set_up

        self.studio_setup = set_up(
            self.twilio.twilio_client(),
            chatbot_url=f"{self.gateway.base_url}/twilio/chatbot",
            workflow_sid=self.twilio.workflow_sid,
            chat_channel_sid=self.twilio.chat_task_channel_sid,
            flow_name="Flexcord assistant",
        )
        self._set_environment({"TWILIO_STUDIO_FLOW_SID": self.studio_setup.flow_sid})
        _forget_cached_clients()

    # -- the clock ------------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the stack's clock forward and run the scheduler at the new time."""
        assert self.scheduler is not None
        now = self.scheduler.advance(seconds)
        return {"now": now.isoformat(), **self.scheduler.tick()}

    def _move_clock(self, body: bytes) -> tuple[int, bytes]:
        """``POST /_devstack/clock {"advance_seconds": n}`` (python -m devstack clock)."""
        try:
            seconds = float(json.loads(body or b"{}").get("advance_seconds", 0))
            answer = self.advance_clock(seconds)
        except (ValueError, TypeError, AttributeError) as error:
            return 400, json.dumps({"error": str(error)}).encode()
        return 200, json.dumps(answer).encode()

    def _receive_cfn_response(self, body: bytes) -> tuple[int, bytes]:
        self.cloudformation_responses.append(json.loads(body))
        return 200, b""

    # -- environment ----------------------------------------------------------------------------

    def _function_environment(
        self, discord: DiscordEmulator, twilio: TwilioEmulator, resources: LocalResources
    ) -> dict[str, str]:
        """What template.yaml sets on the functions, with local values (one process runs them
        all, so they share one environment)."""
        return {
            "DISCORD_APPLICATION_ID": discord.application_id,
            "DISCORD_PUBLIC_KEY": discord.public_key_hex,
            "DISCORD_API_BASE_URL": discord.api_base_url,
            # The token is read from Secrets Manager (on moto), as in AWS.
            "DISCORD_BOT_TOKEN_SECRET_ID": BOT_TOKEN_SECRET_NAME,
            "DISCORD_GUILD_ID": "",
            # The emulated server is the one allowed server: interactions from it are served, and
            # a DM is served to its members only (the template's DiscordAllowedGuildIds).
            "DISCORD_ALLOWED_GUILD_IDS": ",".join(self._allowed_guild_ids(discord)),
            "MEMBER_RATE_LIMIT_PER_MINUTE": str(self.parameter("MemberRateLimitPerMinute")),
            "WORKER_MAX_CONCURRENCY": str(self.parameter("WorkerMaxConcurrency")),
            "DISCORD_BUG_REPORT_CHANNEL_ID": discord.channel_ids["bug-report"],
            "DISCORD_FEATURE_REQUEST_CHANNEL_ID": discord.channel_ids["feature-request"],
            "DISCORD_STAFF_ROLE_ID": discord.staff_role_id,
            "DISCORD_SUPPORT_CHANNEL_ID": discord.channel_ids["support"],
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN_SECRET_ID": TWILIO_TOKEN_SECRET_NAME,
            "TWILIO_API_BASE_URL": twilio.base_url,
            "TWILIO_CONVERSATIONS_SERVICE_SID": twilio.chat_service_sid,
            "TWILIO_FLEX_WORKSPACE_SID": twilio.workspace_sid,
            "TWILIO_FLEX_WORKFLOW_SID": twilio.workflow_sid,
            "TWILIO_STUDIO_FLOW_SID": "",
            # The announcements webhook's signing secret, on Secrets Manager (moto) as in AWS.
            "ANNOUNCEMENTS_WEBHOOK_SECRET_SECRET_ID": ANNOUNCEMENTS_WEBHOOK_SECRET_NAME,
            # "true": the webhook's announcements wait for staff approval in the staff channel.
            "ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST": str(
                self.parameter("AnnouncementsWebhookReviewFirst")
            ).lower(),
            # Twilio's webhooks come to the local gateway, and are verified against this URL.
            "PUBLIC_BASE_URL": self.gateway.base_url if self.gateway else "",
            "TABLE_NAME": resources.table_name,
            "JOB_QUEUE_URL": resources.job_queue_url,
            "JOB_MAX_RECEIVE_COUNT": str(resources.max_receive_count),
            # Only the local stack sets this: its sample feeds live on loopback, which a deployed
            # function must never fetch (private addresses are refused there, against SSRF).
            "FEEDS_ALLOW_PRIVATE_URLS": "true",
        }

    def _allowed_guild_ids(self, discord: DiscordEmulator) -> list[str]:
        """The emulated servers; with the published test key, also the server the sample events in
        events/ name (as events/env.json allows it), so they are served too."""
        allowed = [discord.guild_id, *self._extra_guild_ids]
        if self._use_published_test_key:
            sample_env = json.loads((EVENTS_DIR / "env.json").read_text())["Parameters"]
            allowed += [g for g in sample_env["DISCORD_ALLOWED_GUILD_IDS"].split(",") if g not in allowed]
        return allowed

    def parameter(self, name: str) -> Any:
        """A template parameter's value here: the override given to the stack, else its default."""
        return self._parameters.get(name, parameter_default(self._template, name))

    def function_environment_names(self) -> list[str]:
        names = ["AWS_ENDPOINT_URL", *LOCAL_AWS_ENVIRONMENT]
        if self.discord is not None and self.twilio is not None and self.resources is not None:
            names += list(self._function_environment(self.discord, self.twilio, self.resources))
        return names

    def _signing_key(self) -> Any:
        if not self._use_published_test_key:
            return None
        from nacl.signing import SigningKey

        return SigningKey(bytes.fromhex(self._published_keys()["private_key_seed_hex"]))

    @staticmethod
    def _published_keys() -> dict[str, str]:
        keys: dict[str, str] = json.loads((EVENTS_DIR / "test-signing-key.json").read_text())
        return keys

    def _set_environment(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name, ""))
            os.environ[name] = value

    def support_chat_path(self) -> str:
        """How a member's request for a human reaches Flex in this stack, in words."""
        if not self._studio:
            return "direct (Flex Interactions API)"
        flow = self.studio_setup.flow_sid if self.studio_setup is not None else "not uploaded yet"
        return f"Studio (flow {flow} uploaded by scripts/setup_twilio.py)"

    def describe(self) -> dict[str, Any]:
        assert self.discord is not None and self.gateway is not None and self.resources is not None
        return {
            "console": self.console.url if self.console else "",
            "gateway": self.gateway.base_url,
            "interactions_url": self.discord.interactions_url,
            "announcements_webhook_url": f"{self.gateway.base_url}/announcements/webhook",
            "discord": self.discord.base_url,
            "twilio": self.twilio.base_url if self.twilio else "",
            "sample_feeds": self.sample_feeds.base_url if self.sample_feeds else "",
            "aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"],
            "table": self.resources.table_name,
            "job_queue_url": self.resources.job_queue_url,
            "dead_letter_queue_url": self.resources.dead_letter_queue_url,
        }


BOT_TOKEN_SECRET_NAME = "flexcord/discord-bot-token"  # noqa: S105 - a name, not a secret
TWILIO_TOKEN_SECRET_NAME = "flexcord/twilio-auth-token"  # noqa: S105 - a name, not a secret
TWILIO_EMULATOR_TOKEN = "emulator-auth-token"  # noqa: S105 - the emulator's own, for tests
ANNOUNCEMENTS_WEBHOOK_SECRET_NAME = "flexcord/announcements-webhook-secret"  # noqa: S105 - a name
#: The local stack's webhook signing secret (`python -m devstack webhook` signs with it).
ANNOUNCEMENTS_WEBHOOK_SECRET = "local-announcements-webhook-secret"  # noqa: S105 - local only


def _store_secret(name: str, value: str) -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)


def custom_resource_event(
    request_type: str, *, response_url: str, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:000000000000:function:CommandsFunction",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:000000000000:stack/flexcord-local/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "DiscordCommands",
        "ResourceType": "Custom::DiscordCommands",
        "ResourceProperties": {"ServiceToken": "local", **properties},
    }


def _forget_cached_clients() -> None:
    """Settings and AWS clients are cached per process, as in Lambda; a new stack in the same
    process (tests) has new endpoints, so the caches are cleared."""
    from aws_lambda_powertools.utilities import parameters

    from flexcord import wiring
    from flexcord.adapters.queue.job_queue import job_queue
    from flexcord.adapters.storage.dynamodb import dynamodb_client
    from flexcord.config import reset_cached_settings

    reset_cached_settings()
    dynamodb_client.cache_clear()
    for cached in (
        job_queue,
        wiring.session_repository,
        wiring.case_service,
        wiring.server_directory,
        wiring.knowledge_base,
    ):
        cached.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
