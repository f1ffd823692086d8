"""The local stack's web console: the member's Discord on the left, the agent's Flex on the right,
the servers' cases below, live.

It is a client of the system like a person's Discord app and Flex UI: every action goes through
the emulators' control APIs (the Discord emulator signs each interaction and posts it to the
interactions endpoint; the Twilio emulator performs the agent's actions as Flex would), and the
registered slash commands come from Discord's REST API. It never touches Flexcord's storage.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any

import requests

from devstack.control_client import EmulatorControlError, wait_for
from devstack.control_routes import find_route
from devstack.discord_emulator.control import EmulatorControl as DiscordControl
from devstack.discord_markup import Directory, directory_from_state
from devstack.discord_names import directory_for
from devstack.emulator_base import LoopbackService
from devstack.http_server import CHANGES_PATH, HttpRequest, HttpResponse
from devstack.twilio_emulator.control import EmulatorControl as FlexControl

from . import render

JsonObject = dict[str, Any]
Handler = Callable[[HttpRequest, list[str]], HttpResponse]

#: The channels whose bot posts are cases (a server may name them otherwise; these are /setup's).
CASE_CHANNELS = {"bug-report": "bug", "feature-request": "feature"}
CASE_TITLE = re.compile(r"#(\d+):\s*(.*)")
#: How often the event stream asks the emulators whether anything changed.
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
#: How long an action waits for the worker to finish a deferred reply before answering anyway
#: (the page redraws when it lands).
SETTLE_SECONDS = 15.0


class ConsoleError(Exception):
    """A request the console cannot carry out (bad input, or what Discord or Flex refused)."""


class ConsoleApp:
    def __init__(self, *, discord_url: str, twilio_url: str, bot_token: str) -> None:
        self.discord = DiscordControl(discord_url)
        self.flex = FlexControl(twilio_url) if twilio_url else None
        self._discord_url, self._twilio_url = discord_url.rstrip("/"), twilio_url.rstrip("/")
        self._bot_token = bot_token
        self._http = requests.Session()
        self.stopping = threading.Event()
        #: conversation -> identity -> (side, name): who said what, as the transcript shows it.
        self._authors: dict[str, dict[str, tuple[str, str]]] = {}
        self._routes: list[tuple[str, tuple[str, ...], Handler]] = [
            ("GET", ("",), self._index),
            ("GET", ("static", "*"), self._static),
            ("GET", ("api", "world"), self._world),
            ("GET", ("api", "messages"), self._messages),
            ("GET", ("api", "events"), self._events),
            ("POST", ("api", "members"), self._add_member),
            ("POST", ("api", "command"), self._command),
            ("POST", ("api", "click"), self._click),
            ("POST", ("api", "select"), self._select),
            ("POST", ("api", "modal"), self._modal),
            ("GET", ("api", "tasks"), self._tasks),
            ("GET", ("api", "tasks", "*", "transcript"), self._transcript),
            ("POST", ("api", "tasks", "*", "accept"), self._accept),
            ("POST", ("api", "tasks", "*", "say"), self._say),
            ("POST", ("api", "tasks", "*", "complete"), self._complete),
            ("POST", ("api", "tasks", "*", "transfer"), self._transfer),
            ("GET", ("api", "cases"), self._cases),
            ("POST", ("api", "cases", "details"), self._case_details),
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        parts = request.path.strip("/").split("/") if request.path != "/" else [""]
        found = find_route(self._routes, request.method, parts)
        if found is None:
            return HttpResponse.json(404, {"error": f"no page {request.method} {request.path}"})
        handler, captured = found
        try:
            return handler(request, captured)
        except ConsoleError as refused:
            return HttpResponse.json(400, {"error": str(refused)})
        except EmulatorControlError as refused:
            return HttpResponse.json(400, {"error": refused.reason})

    # -- the page ------------------------------------------------------------------------------

    def _index(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        return self._static(request, ["index.html"])

    def _static(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        name = captured[0]
        asset = resources.files(__package__).joinpath("static", name)
        if "/" in name or name.startswith(".") or not asset.is_file():
            return HttpResponse.json(404, {"error": f"no file {name}"})
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return HttpResponse(
            200,
            asset.read_bytes(),
            {"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-store"},
        )

    # -- the member's Discord ------------------------------------------------------------------

    def _directory(self, state: Mapping[str, Any] | None = None) -> Directory:
        return directory_from_state(state if state is not None else self.discord.state())

    def _world(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        """Who can be played, the servers with their channels and threads, and the commands."""
        state = self.discord.state()
        viewer = request.query.get("as") or ""
        members = [
            {
                "username": name,
                "display_name": user.get("global_name") or name,
                "id": user["id"],
                "staff": _is_staff(state, user),
                "guild_ids": user.get("guild_ids", []),
            }
            for name, user in state["users"].items()
        ]
        user = state["users"].get(viewer)
        guilds = []
        for guild_id, guild in state["guilds"].items():
            channel_objects = self._channels_of(guild_id)
            threads = [
                {
                    "id": t["id"],
                    "name": t.get("name", ""),
                    "parent_id": t.get("parent_id"),
                    "private": t.get("type") == 12,
                }
                for t in state["threads"]
                if t.get("guild_id") == guild_id and self._can_see(t["id"], viewer)
            ]
            guilds.append(
                {
                    "id": guild_id,
                    "name": guild.get("name", ""),
                    "member": bool(user) and guild_id in user.get("guild_ids", []),
                    "channels": sorted(
                        (c for c in channel_objects if self._can_see(c["id"], viewer)),
                        key=lambda c: (c.get("position") or 0, c.get("name", "")),
                    ),
                    "threads": threads,
                }
            )
        return HttpResponse.json(
            200,
            {
                "members": members,
                "guilds": guilds,
                "commands": self._commands(state),
                "bot": state["bot_user"],
            },
        )

    def _channels_of(self, guild_id: str) -> list[JsonObject]:
        """The server's channels as Discord lists them to the bot (one request per server)."""
        found = self._http.get(
            f"{self._discord_url}/api/v10/guilds/{guild_id}/channels",
            headers={"Authorization": f"Bot {self._bot_token}"},
            timeout=10,
        )
        found.raise_for_status()
        return [
            {
                "id": channel["id"],
                "name": channel.get("name", ""),
                "type": channel.get("type"),
                "position": channel.get("position"),
            }
            for channel in found.json()
        ]

    def _can_see(self, channel_id: str, viewer: str) -> bool:
        if not viewer:
            return True
        try:
            self.discord.messages(channel_id, as_user=viewer)
        except EmulatorControlError:
            return False
        return True

    def _commands(self, state: Mapping[str, Any]) -> list[JsonObject]:
        """The slash commands the deploy registered, as Discord serves them to a client."""
        found = self._http.get(
            f"{self._discord_url}/api/v10/applications/{state['application_id']}/commands",
            headers={"Authorization": f"Bot {self._bot_token}"},
            timeout=10,
        )
        found.raise_for_status()
        commands: list[JsonObject] = found.json()
        return sorted(commands, key=lambda command: str(command.get("name")))

    def _messages(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        channel, viewer = request.query.get("channel", ""), request.query.get("as") or None
        if not channel:
            raise ConsoleError("say which channel")
        messages = self.discord.messages(channel, as_user=viewer)
        names = directory_for(self.discord, messages, viewer)
        return HttpResponse.json(200, {"html": render.messages_html(messages, names)})

    def _add_member(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        username = str(body.get("username") or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9_.]{2,32}", username):
            raise ConsoleError("a username is 2 to 32 letters, digits, dots or underscores")
        if username in self.discord.state()["users"]:
            raise ConsoleError(f"{username} is already a member")
        return HttpResponse.json(200, self.discord.add_user(username))

    def _command(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        name = str(body.get("name") or "").strip().lstrip("/")
        if not name:
            raise ConsoleError("type a command after the slash")
        result = self.discord.run_command(
            _user(body),
            name,
            body.get("options") or None,
            channel=str(body.get("channel") or "general"),
            attachments=body.get("attachments") or None,
            guild_id=body.get("guild_id") or None,
        )
        return self._outcome(result)

    def _click(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        user, message = _user(body), self._message(body)
        return self._outcome(self.discord.click(user, message, str(body.get("custom_id") or "")))

    def _select(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        user, message = _user(body), self._message(body)
        values = [str(value) for value in body.get("values") or []]
        return self._outcome(
            self.discord.select(user, message["id"], str(body.get("custom_id") or ""), values)
        )

    def _modal(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        modal = body.get("modal")
        if not isinstance(modal, dict):
            raise ConsoleError("no form to submit")
        result = self.discord.submit_modal(
            _user(body),
            modal,
            {str(k): v for k, v in (body.get("values") or {}).items()},
            files=body.get("files") or None,
            channel=body.get("channel") or None,
            guild_id=body.get("guild_id") or None,
        )
        return self._outcome(result)

    def _message(self, body: Mapping[str, Any]) -> JsonObject:
        channel, message_id = str(body.get("channel") or ""), str(body.get("message_id") or "")
        for message in self.discord.messages(channel, as_user=_user(body)):
            if message["id"] == message_id:
                return dict(message)
        raise ConsoleError("that message is gone")

    def _outcome(self, result: Mapping[str, Any]) -> HttpResponse:
        """A form to show, or how the interaction went once its deferred reply (if any) settled."""
        if result.get("failed"):
            return HttpResponse.json(
                200, {"failed": True, "error": result.get("error") or "no answer in time"}
            )
        if result.get("modal"):
            modal = result["modal"]
            return HttpResponse.json(
                200, {"modal": modal, "modal_html": render.modal_html(modal, self._directory())}
            )
        token = (result.get("interaction") or {}).get("token")
        if token and (result.get("response") or {}).get("type") == 5:  # deferred: the worker edits it
            # Still thinking after that: the page shows it so, and redraws when the edit lands.
            with contextlib.suppress(TimeoutError):
                wait_for(
                    lambda: not _loading(self.discord.original_response(token)),
                    timeout=SETTLE_SECONDS,
                    interval=0.2,
                )
        return HttpResponse.json(200, {"ok": True})

    # -- the agent's Flex ----------------------------------------------------------------------

    def _require_flex(self) -> FlexControl:
        if self.flex is None:
            raise ConsoleError("this stack runs without the Twilio emulator")
        return self.flex

    def _tasks(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        tasks = self._require_flex().tasks(include_closed=request.query.get("closed") == "true")
        return HttpResponse.json(
            200,
            {
                "tasks": [
                    {
                        "sid": task["sid"],
                        "status": task.get("assignment_status"),
                        "html": render.task_html(task),
                    }
                    for task in tasks
                ]
            },
        )

    def _task(self, sid: str) -> JsonObject:
        for task in self._require_flex().tasks(include_closed=True):
            if task["sid"] == sid:
                return dict(task)
        raise ConsoleError(f"no task {sid}")

    def _transcript(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        flex, task = self._require_flex(), self._task(captured[0])
        conversation = (task.get("attributes") or {}).get("conversation_sid")
        if not conversation:
            raise ConsoleError("this task has no conversation")
        # Flex names the agents it added; the member is an opaque identity, shown by the name the
        # task carries (what Flex already knows), never looked up anywhere else.
        # An agent who left (the task completed) is still named as the page first saw them.
        authors = self._authors.setdefault(conversation, {})
        member_name = str((task.get("attributes") or {}).get("from") or "customer")
        for participant in flex.participants(conversation):
            identity = str(participant.get("identity") or "")
            friendly_name = _attributes(participant.get("attributes")).get("friendly_name")
            if friendly_name:
                authors[identity] = ("agent", str(friendly_name))
            elif identity:
                authors[identity] = ("customer", member_name)
        return HttpResponse.json(
            200,
            {
                "status": task.get("assignment_status"),
                "html": render.transcript_html(flex.messages(conversation), authors),
            },
        )

    def _accept(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        name = str(_json(request).get("name") or "Alex").strip() or "Alex"
        agent = re.sub(r"[^a-z0-9_]", "_", name.lower())
        return HttpResponse.json(
            200, self._require_flex().accept(captured[0], agent=agent, friendly_name=name)
        )

    def _say(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        body = _json(request)
        text = str(body.get("text") or "")
        files = body.get("files") or []
        if not text.strip() and not files:
            raise ConsoleError("write a message or attach a file")
        return HttpResponse.json(200, self._require_flex().agent_say(captured[0], text or None, media=files))

    def _complete(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        return HttpResponse.json(200, self._require_flex().complete(captured[0]))

    def _transfer(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        return HttpResponse.json(200, self._require_flex().transfer(captured[0]))

    # -- the cases board -----------------------------------------------------------------------

    def _cases(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        """Each server's case posts, as staff see them in the case channels, with their threads."""
        state = self.discord.state()
        directory = self._directory(state)
        servers = []
        for guild_id, guild in state["guilds"].items():
            cards = []
            for channel_name, kind in CASE_CHANNELS.items():
                channel_id = guild["channels"].get(channel_name)
                if not channel_id:
                    continue
                for message in self.discord.messages(channel_id):
                    card = self._case_card(message, kind, directory)
                    if card is not None:
                        cards.append(card)
            cards.sort(key=lambda card: card[0])
            servers.append(
                render.board_html(guild_id, str(guild.get("name", "")), [html for _, html in cards])
            )
        return HttpResponse.json(200, {"html": "".join(servers)})

    def _case_card(
        self, message: Mapping[str, Any], kind: str, directory: Directory
    ) -> tuple[int, str] | None:
        embed = (message.get("embeds") or [{}])[0]
        found = CASE_TITLE.search(str(embed.get("title") or ""))
        if not found:
            return None
        fields = {str(f.get("name")): str(f.get("value")) for f in embed.get("fields") or []}
        thread = message.get("thread") or {}
        history = self.discord.messages(thread["id"]) if thread.get("id") else []
        number = int(found.group(1))
        return number, render.case_card_html(number, kind, found.group(2), fields, history, directory)

    def _case_details(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        """``/cases`` or ``/case show`` as a staff member: what the board's posts do not show
        (support cases, history, ratings) comes from the bot, as it would for staff in Discord."""
        body = _json(request)
        user, guild_id = _user(body), str(body.get("guild_id") or "")
        number = body.get("number")
        if number is None:
            result = self.discord.run_command(user, "cases", None, guild_id=guild_id or None)
        else:
            options = {"show": {"number": int(number)}}
            result = self.discord.run_command(user, "case", options, guild_id=guild_id or None)
        if result.get("failed"):
            raise ConsoleError(str(result.get("error") or "the interaction failed"))
        token = str(result["interaction"]["token"])
        try:
            reply: JsonObject = wait_for(
                lambda: self._settled(token),
                timeout=SETTLE_SECONDS,
                interval=0.2,
            )
        except TimeoutError as late:
            raise ConsoleError("no answer from the bot in time") from late
        return HttpResponse.json(200, {"html": render.message_html(reply, self._directory())})

    def _settled(self, token: str) -> JsonObject:
        """The interaction's reply once the worker has edited it (empty while it thinks)."""
        message = self.discord.original_response(token)
        return message if message and not _loading(message) else {}

    # -- live updates --------------------------------------------------------------------------

    def _events(self, request: HttpRequest, captured: list[str]) -> HttpResponse:
        return HttpResponse(
            200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"},
            stream=self._changes(),
        )

    def _changes(self) -> Iterator[bytes]:
        """Server-sent events: ``change`` whenever Discord or Flex changed something."""
        yield b"retry: 1000\n\n"
        last = self._versions()
        quiet_since = time.monotonic()
        while not self.stopping.wait(POLL_SECONDS):
            now = self._versions()
            if now != last:
                changed = [name for name in now if now[name] != last.get(name)]
                last = now
                quiet_since = time.monotonic()
                yield f"event: change\ndata: {json.dumps(changed)}\n\n".encode()
            elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                quiet_since = time.monotonic()
                yield b": still here\n\n"

    def _versions(self) -> dict[str, int]:
        versions = {}
        for name, url in (("discord", self._discord_url), ("flex", self._twilio_url)):
            if not url:
                continue
            try:
                versions[name] = int(self._http.get(f"{url}{CHANGES_PATH}", timeout=5).json()["changes"])
            except (requests.RequestException, ValueError, KeyError):
                versions[name] = -1
        return versions


def _json(request: HttpRequest) -> JsonObject:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise ConsoleError("the request body is not JSON") from error
    if not isinstance(body, dict):
        raise ConsoleError("the request body is not a JSON object")
    return body


def _user(body: Mapping[str, Any]) -> str:
    user = str(body.get("user") or "")
    if not user:
        raise ConsoleError("choose who you are first")
    return user


def _loading(message: Mapping[str, Any] | None) -> bool:
    return bool(message) and bool(int((message or {}).get("flags") or 0) & render.LOADING)


def _attributes(value: Any) -> JsonObject:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _is_staff(state: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
    staff_roles = {guild.get("staff_role_id") for guild in state["guilds"].values()}
    return bool(staff_roles & set(user.get("roles") or []))


class ConsoleServer(LoopbackService):
    """Serves the console on loopback (port 0: any free port)."""

    thread_name = "devstack-console"

    def __init__(
        self, *, discord_url: str, twilio_url: str, bot_token: str, port: int = 0, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(host=host, port=port)
        self.app = ConsoleApp(discord_url=discord_url, twilio_url=twilio_url, bot_token=bot_token)
        self._app = self.app

    @property
    def url(self) -> str:
        return f"{self.base_url}/"

    def _stopped(self) -> None:
        self.app.stopping.set()  # ends the event streams, so no page holds a thread
