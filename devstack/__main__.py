"""The local stack's command line.

    python -m devstack up                          run everything (Ctrl-C or SIGTERM stops it;
                                                   up --help: the ports, --studio, --verbose)
    python -m devstack member alice bug            run /bug as alice, fill the form, see the answer
    python -m devstack member alice case show --option number=1
    python -m devstack click alice TOKEN case:show:1   press a button on a reply
    python -m devstack click alice --message ID case:show:1
                                                   ...or on any message (each button prints how)
    python -m devstack staff mod status 1 resolved --note "fixed in 1.4.2"
                                                   use a case post's controls (as staff, or not)
    python -m devstack staff bob metoo 2           press Me too on feature request #2
    python -m devstack select mod TOKEN setup:channel:bug_report_channel_id bug-report
                                                   choose in a select menu on a reply
    python -m devstack channel bug-report          show a channel as Discord would
    python -m devstack dm alice                    show a member's DM with the bot
    python -m devstack agent tasks                 Flex: the chats waiting for an agent
    python -m devstack agent accept WT...          take one (the member is told you joined)
    python -m devstack agent say WT... "Hello!"    reply to the member
    python -m devstack agent transcript WT...      the conversation so far, as Flex shows it
    python -m devstack agent transfer WT...        back to the queue: a new task waits for the next agent
    python -m devstack agent complete WT...        close the task (the chat ends in Discord)
    python -m devstack webhook --title "v1.5" --text "Out now" [--url https://...] [--key release-1.5]
                                                   send a signed announcement to the webhook

`up` writes .devstack/stack.json (where everything listens, and its pid) and .devstack/env.json
(the functions' environment, for `sam local invoke --env-vars`); the other commands read the
first. The functions' JSON logs and EMF metrics go to .devstack/logs/ (functions.jsonl,
metrics.jsonl); its terminal shows a line per request and per job.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from devstack.discord_markup import Directory

ROOT = Path(__file__).resolve().parent.parent
# Where `up` tells the other commands how to reach it (FLEXCORD_DEVSTACK_DIR moves it, e.g. tests).
STATE_DIR = Path(os.environ.get("FLEXCORD_DEVSTACK_DIR") or ROOT / ".devstack")
STATE_FILE = STATE_DIR / "stack.json"
LOADING_FLAG = 1 << 7
DEFERRED_UPDATE = 6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="action", required=True)

    _add_up_parser(commands)

    member = commands.add_parser("member", help="run a slash command as a member")
    member.add_argument("user")
    member.add_argument("command", help="the command name, without the slash")
    member.add_argument("subcommand", nargs="?", help="e.g. show, update or add for /case")
    member.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    member.add_argument("--field", action="append", default=[], metavar="CUSTOM_ID=VALUE",
                        help="answer a form field without being asked")  # fmt: skip
    member.add_argument("--screenshot", type=Path, help="a file for the form's upload field")
    member.add_argument("--channel", default="general", help="a channel name, or dm")

    _add_staff_parser(commands)

    click = commands.add_parser(
        "click",
        help="press a button on a reply (TOKEN) or on any message (--message ID)",
        usage="python -m devstack click USER (TOKEN | --message MESSAGE_ID) CUSTOM_ID [--field ID=VALUE]",
    )
    click.add_argument("user")
    click.add_argument("token", nargs="?", help="the interaction token printed with the reply")
    click.add_argument("custom_id")
    click.add_argument("--message", metavar="MESSAGE_ID", help="the message's id, printed with it")
    click.add_argument("--field", action="append", default=[], metavar="CUSTOM_ID=VALUE",
                       help="answer a field of the form the button opens")  # fmt: skip

    select = commands.add_parser(
        "select",
        help="choose in a select menu on a reply (TOKEN) or on any message (--message ID)",
        usage="python -m devstack select USER (TOKEN | --message MESSAGE_ID) CUSTOM_ID VALUE [VALUE ...]",
    )
    select.add_argument("user")
    select.add_argument("token", nargs="?", help="the interaction token printed with the reply")
    select.add_argument("custom_id")
    select.add_argument("values", nargs="+", help="option values, or channel, role or member names or ids")
    select.add_argument("--message", metavar="MESSAGE_ID", help="the message's id, printed with it")

    agent = commands.add_parser("agent", help="be the agent in Flex")
    agent.add_argument("verb", choices=["tasks", "accept", "say", "transfer", "complete", "transcript"])
    agent.add_argument("task", nargs="?", help="the task SID (WT...)")
    agent.add_argument("text", nargs="?", help="what to say")
    agent.add_argument("--name", default="Alex", help="the agent's name, as the member sees it")

    _add_view_parsers(commands)

    _add_webhook_parser(commands)

    _add_clock_parser(commands)
    _add_feed_parser(commands)

    return _dispatch(parser.parse_args(argv))


def _dispatch(arguments: argparse.Namespace) -> int:
    """Runs the command. What an emulator refuses, a file that cannot be read and a stack that
    does not answer are one line on stderr and exit status 2, never a traceback."""
    import requests

    from devstack.control_client import EmulatorControlError

    no_emulator_control = {
        "up": run_stack,
        "agent": run_agent,
        "webhook": run_webhook,
        "clock": run_clock,
        "feed": run_feed,
    }
    try:
        if arguments.action in no_emulator_control:
            return no_emulator_control[arguments.action](arguments)
        control = _control()
        runners = {"member": run_member, "click": run_click, "select": run_select, "staff": run_staff}
        if arguments.action in runners:
            return runners[arguments.action](control, arguments)
        return run_view(control, arguments)
    except (EmulatorControlError, requests.RequestException, OSError) as error:
        if arguments.action == "up" and not isinstance(error, EmulatorControlError):
            raise  # the stack's own start-up failures are not this function's to word
        print(_error_line(arguments.action, error), file=sys.stderr)
        return 2


def _error_line(action: str, error: Exception) -> str:
    import requests

    from devstack.control_client import EmulatorControlError, EmulatorUnreachable

    if isinstance(error, EmulatorUnreachable):
        return error.reason
    if isinstance(error, EmulatorControlError):
        # What Discord or Flex would refuse: an unknown user or task, an empty required field...
        return f"{'Flex' if action == 'agent' else 'Discord'} refused that: {_said(error.reason)}"
    if isinstance(error, requests.RequestException):  # an OSError too: tested first
        return f"the local stack did not answer: {_said(str(error))}"
    assert isinstance(error, OSError)  # e.g. --screenshot names a file that is not there
    return f"{error.strerror or error}: {error.filename}" if error.filename else _said(str(error))


def _said(reason: str) -> str:
    """An emulator's refusal as one line, without the Python exception's name it carries
    ("KeyError: 'unknown interaction token ...'" -> "unknown interaction token ...")."""
    import re

    found = re.match(r"([A-Z]\w*(?:Error|Exception)): (.*)", reason, flags=re.DOTALL)
    if found:
        reason = found.group(2)
        if found.group(1) == "KeyError" and len(reason) > 1 and reason[0] == reason[-1] in "'\"":
            reason = reason[1:-1]
    return " ".join(reason.split())


# -- up -----------------------------------------------------------------------------------------


#: ``up``'s port options: the option, the ``StackPorts`` field, the default, what listens there.
PORT_OPTIONS = (
    ("--gateway-port", "gateway", 8787,
     "the local API gateway: Discord interactions, Twilio webhooks, the announcements webhook"),
    ("--discord-port", "discord", 8788,
     "the Discord emulator: its REST API and CDN, and the control API the member commands use"),
    ("--moto-port", "moto", 8789, "moto: DynamoDB, SQS and Secrets Manager (AWS_ENDPOINT_URL)"),
    ("--twilio-port", "twilio", 8790,
     "the Twilio emulator: Conversations, Media, Flex and Studio, and the agent commands"),
    ("--feeds-port", "sample_feeds", 8791,
     "the sample feeds (blog, videos, status, social) that /feeds add can follow"),
    ("--console-port", "console", 8780,
     "the web console: the member's Discord and the agent's Flex in a browser"),
)  # fmt: skip


def _add_up_parser(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="run the local stack",
        description="Run the whole system in this process until Ctrl-C or SIGTERM. Everything "
        "listens on 127.0.0.1; a port option of 0 takes any free port. stack.json in the state "
        f"directory ({STATE_DIR}; FLEXCORD_DEVSTACK_DIR moves it) says where each part listens.",
    )
    for option, _, default, what in PORT_OPTIONS:
        up.add_argument(
            option, type=int, default=default, metavar="PORT", help=f"{what} (default: %(default)s)"
        )
    up.add_argument(
        "--studio",
        action="store_true",
        help="the Studio path: upload the shipped flow with the setup command, and hand chats to "
        "Flex through it (default: the direct path, the Flex Interactions API)",
    )
    up.add_argument(
        "--verbose",
        action="store_true",
        help="also print the functions' JSON logs and EMF metric documents here (default: only "
        "in logs/functions.jsonl and logs/metrics.jsonl in the state directory; the terminal "
        "shows a line per request and per job, and warnings and errors)",
    )


def run_stack(arguments: argparse.Namespace) -> int:
    running = _running_stack()
    if running is not None:
        gateway, pid = running
        print(
            f"the local stack is already running (gateway {gateway}, pid {pid}); "
            "stop it with Ctrl-C in its terminal",
            file=sys.stderr,
        )
        return 1
    from devstack import stack_log
    from devstack.stack import PortInUse, StackPorts

    dest = {option: option.removeprefix("--").replace("-", "_") for option, *_ in PORT_OPTIONS}
    ports = StackPorts(**{part: getattr(arguments, dest[option]) for option, part, *_ in PORT_OPTIONS})
    try:
        ports.check_free()
    except PortInUse as taken:
        return _port_in_use(taken)
    if STATE_FILE.exists():
        # Left by a stack that was killed (SIGKILL, a crash): nothing answers there any more.
        STATE_FILE.unlink()
        print("(replacing the stack.json of a stack that is gone)", flush=True)
    logs = stack_log.configure(STATE_DIR / "logs", verbose=arguments.verbose)
    try:
        return _serve_stack(arguments, ports)
    finally:
        logs.close()


def _port_in_use(taken: Any) -> int:
    """One line for a port that something else holds (``devstack.stack.PortInUse``)."""
    option = next(option for option, part, *_ in PORT_OPTIONS if part == taken.part)
    print(
        f"port {taken.port} ({taken.part}) is already in use by another program: stop it, "
        f"or choose another port with {option}",
        file=sys.stderr,
    )
    return 1


def _serve_stack(arguments: argparse.Namespace, ports: Any) -> int:
    from devstack.stack import LocalStack, PortInUse

    stop = _StopSignals()
    print("starting the Flexcord local stack…", flush=True)
    try:
        stack = LocalStack(ports=ports, use_published_test_key=True, studio=arguments.studio)
        stack.start()
        assert stack.scheduler is not None
        stack.scheduler.start_ticking(every=60)  # as EventBridge's rule: once a minute
        stop.started()
    except _StartInterrupted:
        # Everything the stack had started lives in this process (daemon threads, moto's memory),
        # so exiting is the whole clean-up, and nothing was written to the state directory yet.
        # (LocalStack.stop would hang on a gateway built but not yet serving.)
        print("\nstopped while starting", flush=True)
        return 0
    except PortInUse as taken:
        return _port_in_use(taken)
    try:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        description = stack.describe()
        # Whole or not at all: the other commands (and a second `up`) may read it at any moment.
        written = STATE_FILE.with_name(f".{STATE_FILE.name}.{os.getpid()}")
        written.write_text(json.dumps({**description, "pid": os.getpid()}, indent=2) + "\n")
        written.replace(STATE_FILE)
        function_env = {name: os.environ[name] for name in stack.function_environment_names()}
        (STATE_DIR / "env.json").write_text(json.dumps({"Parameters": function_env}, indent=2) + "\n")
        print(_banner(description, stack.support_chat_path(), STATE_DIR / "logs", arguments.verbose))
        print(f"\nTry it in a browser: {description['console']}  (be alice, type /helpme)")
        print("Or in another terminal:")
        print("  make demo                                   # a member's whole journey, played and printed")
        print("  .venv/bin/python -m devstack member alice bug")
        print("  .venv/bin/python -m devstack channel bug-report")
        print("  .venv/bin/python -m devstack member alice mycases")
        print('  .venv/bin/python -m devstack member alice helpme --option question="my pokéstop is missing"')
        print("  .venv/bin/python -m devstack agent tasks\n(Ctrl-C stops the stack)", flush=True)
        stop.wait()
    finally:
        # The state file goes first: from here on the other commands must not find a stack.
        STATE_FILE.unlink(missing_ok=True)
        print("\nstopping", flush=True)
        _stop_within(stack, STOP_DEADLINE_SECONDS)
    return 0


def _banner(description: dict[str, Any], support_chat_path: str, log_dir: Path, verbose: bool) -> str:
    """What the stack prints once it runs: the console first (when there is one), then where
    each part listens, which support chat path runs, and where the functions' logs are."""
    lines = ["Flexcord local stack is running:"]
    entries = dict(description)
    console = entries.pop("console", None)
    if console:
        lines.append(f"  console: {console}")
    width = max(map(len, entries), default=0)
    lines.extend(f"  {name:<{width}}  {value}" for name, value in entries.items())
    lines.append(f"support chat path: {support_chat_path}")
    shown = "also shown here" if verbose else "--verbose shows them here"
    lines.append(
        f"function logs: {log_dir / 'functions.jsonl'}, metrics: {log_dir / 'metrics.jsonl'} ({shown})"
    )
    return "\n".join(lines)


def _running_stack() -> tuple[str, int | None] | None:
    """The gateway and pid of the stack that wrote stack.json, if it still runs: its process is
    alive (when stack.json names it) and its gateway answers HTTP."""
    import urllib.error
    import urllib.request

    try:
        state = json.loads(STATE_FILE.read_text())
        gateway = str(state["gateway"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    pid = state.get("pid") if isinstance(state.get("pid"), int) else None
    if pid is not None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, someone else's
    try:
        with urllib.request.urlopen(f"{gateway}/", timeout=2):
            pass
    except urllib.error.HTTPError:
        pass  # an answer (the gateway says 404 to /)
    except (OSError, ValueError):
        return None  # nothing listens (or stack.json is not ours)
    return gateway, pid


class _StartInterrupted(BaseException):
    """SIGINT or SIGTERM arrived while the stack was still starting."""


class _StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM both stop the stack, promptly, from any point.

    While the stack starts, a signal aborts the start (``_StartInterrupted``); once it runs, a
    signal only wakes ``wait``, so no exception lands in the middle of the clean-up. A second
    signal while stopping exits at once.
    """

    def __init__(self) -> None:
        self._requested = threading.Event()
        self._starting = True
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._on_signal)

    def started(self) -> None:
        self._starting = False
        if self._requested.is_set():
            # A signal that an over-broad ``except`` inside the start swallowed still counts.
            raise _StartInterrupted

    def wait(self) -> None:
        # A bounded wait in a loop: the handler runs between waits whatever the platform does
        # with signals during a blocking lock acquire.
        while not self._requested.wait(timeout=1.0):
            pass

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        if self._requested.is_set():
            STATE_FILE.unlink(missing_ok=True)
            os._exit(128 + number)  # asked twice: don't wait for anything
        self._requested.set()
        if self._starting:
            raise _StartInterrupted


# A worker batch in flight may hold the poller, and a stuck server its thread: past this, the
# process exits anyway (every part is a daemon thread of this process, moto's state is in memory).
STOP_DEADLINE_SECONDS = 10.0


def _stop_within(stack: Any, seconds: float) -> None:
    stopper = threading.Thread(target=stack.stop, name="devstack-stop", daemon=True)
    stopper.start()
    stopper.join(timeout=seconds)
    if stopper.is_alive():
        print(f"the stack did not stop within {seconds:.0f} s; exiting anyway", file=sys.stderr, flush=True)


# -- agent ----------------------------------------------------------------------------------------


def run_agent(arguments: argparse.Namespace) -> int:
    from devstack.twilio_emulator import EmulatorControl as TwilioControl

    if not STATE_FILE.exists():
        sys.exit("The local stack is not running: start it with `make local` first.")
    flex = TwilioControl(json.loads(STATE_FILE.read_text())["twilio"])
    if arguments.verb == "tasks":
        tasks = flex.tasks()
        if not tasks:
            print(
                "No tasks: a member asks for a human first "
                "(python -m devstack member alice helpme --option question=..., then "
                "python -m devstack member alice agent --channel dm)."
            )
        for task in tasks:
            print(_task_summary(task))
        return 0
    if not arguments.task:
        sys.exit("give the task SID (see `python -m devstack agent tasks`)")
    if arguments.verb == "transcript":
        return _print_transcript(flex, arguments.task)
    if arguments.verb == "accept":
        flex.accept(
            arguments.task, agent=arguments.name.lower().replace(" ", "_"), friendly_name=arguments.name
        )
    elif arguments.verb == "say":
        if not arguments.text:
            sys.exit("what should the agent say?")
        flex.agent_say(arguments.task, arguments.text)  # as the agent who accepted the task
    elif arguments.verb == "transfer":
        queued = flex.transfer(arguments.task)
        print(f"transfer: back in the queue as {queued['sid']}")
        return 0
    else:
        flex.complete(arguments.task)
    print(f"{arguments.verb}: done")
    return 0


def _task_summary(task: dict[str, Any]) -> str:
    """A task as a Flex agent sees it: who, which case, the member's language and recent cases."""
    attributes = task.get("attributes") or {}
    status = task.get("assignment_status", "?")
    lines = [
        f"{task['sid']}  {status:<9} case #{attributes.get('case_number')}  "
        f"{attributes.get('discord_display_name', '?')}  ({attributes.get('conversation_sid')})"
    ]
    if attributes.get("locale"):
        lines.append(f"    locale: {attributes['locale']}")
    if task.get("agent"):
        lines.append(f"    agent: {task['agent']}")
    recent = attributes.get("recent_cases_summary") or "; ".join(
        f"#{case.get('number')} {case.get('title', '')} ({case.get('status', '?')})"
        for case in attributes.get("recent_cases") or []
    )
    if recent:
        lines.append(f"    recent cases: {recent}")
    return "\n".join(lines)


def _print_transcript(flex: Any, task_sid: str) -> int:
    """The task's conversation, oldest first: ``HH:MM author: body``, with each file as
    ``📎 name``, the author named as Flex names them."""
    from devstack.control_client import EmulatorControlError

    task = next((t for t in flex.tasks(include_closed=True) if t.get("sid") == task_sid), None)
    if task is None:
        raise EmulatorControlError(f"no task {task_sid}", reason=f"no task {task_sid}")
    attributes = task.get("attributes") or {}
    conversation = attributes.get("conversation_sid") or task.get("conversation_sid")
    participants = {p["sid"]: p for p in flex.participants(conversation)}
    messages = flex.messages(conversation)
    if not messages:
        print("No messages yet.")
    for message in messages:
        prefix = f"{_clock_time(message.get('date_created'))} {_author(message, participants, task)}: "
        parts = str(message.get("body") or "").splitlines()
        parts += [f"📎 {item.get('filename') or item.get('sid')}" for item in message.get("media") or []]
        first, *rest = parts or [""]
        print(prefix + first)
        for line in rest:
            print(" " * len(prefix) + line)
    return 0


def _clock_time(iso: str | None) -> str:
    from datetime import datetime

    if not iso:
        return "--:--"
    return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")


def _author(message: dict[str, Any], participants: dict[str, Any], task: dict[str, Any]) -> str:
    """As Flex shows a message's author: the participant's friendly name; the member as the
    task's customer name (``from``, else "customer"); the agent of a closed task (whose
    participant has left) by their worker name; anyone else by their identity."""
    participant = participants.get(str(message.get("participant_sid")))
    details = _json_object(participant.get("attributes")) if participant else {}
    if details.get("friendly_name"):
        return str(details["friendly_name"])
    if details.get("role") == "member":
        return str((task.get("attributes") or {}).get("from") or "customer")
    author = str(message.get("author") or "?")
    if author == task.get("agent_identity") and task.get("agent"):
        return str(task["agent"])
    if _json_object(message.get("attributes")).get("assistant"):
        return f"{author} (assistant)"
    return author


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- member -------------------------------------------------------------------------------------


def _add_webhook_parser(commands: Any) -> None:
    webhook = commands.add_parser("webhook", help="send a signed request to the announcements webhook")
    webhook.add_argument("--title", required=True)
    webhook.add_argument("--text", required=True)
    webhook.add_argument("--url")
    webhook.add_argument("--image-url")
    webhook.add_argument("--channel", help="a channel id (default: the server's announcements channel)")
    webhook.add_argument("--key", help="the idempotency key (default: a new one; reuse one to replay)")
    webhook.add_argument("--secret", help="sign with this secret instead of the local stack's")


def run_webhook(arguments: argparse.Namespace) -> int:
    """Sign and send one announcement as an automation would, and print the answer."""
    import urllib.error
    import urllib.request
    import uuid

    from devstack.stack import ANNOUNCEMENTS_WEBHOOK_SECRET
    from flexcord.announcements.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    if not STATE_FILE.exists():
        sys.exit("The local stack is not running: start it with `make local` first.")
    url = json.loads(STATE_FILE.read_text())["announcements_webhook_url"]
    document = {
        "title": arguments.title,
        "text": arguments.text,
        "url": arguments.url,
        "image_url": arguments.image_url,
        "channel": arguments.channel,
        "idempotency_key": arguments.key or uuid.uuid4().hex,
    }
    body = json.dumps({k: v for k, v in document.items() if v is not None}).encode()
    timestamp = str(int(time.time()))
    signature = sign(arguments.secret or ANNOUNCEMENTS_WEBHOOK_SECRET, timestamp, body)
    request = urllib.request.Request(  # the local stack's own http URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    print(f"{status} {answer.decode(errors='replace')}")
    return 0 if status < 300 else 1


def _add_view_parsers(commands: Any) -> None:
    dm = commands.add_parser("dm", help="show a member's DM with the bot")
    dm.add_argument("user")

    channel = commands.add_parser("channel", help="show a channel's messages")
    channel.add_argument("name")
    channel.add_argument("--as", dest="as_user", help="include the ephemeral messages this member sees")


def _add_clock_parser(commands: Any) -> None:
    clock = commands.add_parser("clock", help="move the local stack's clock forward and run the scheduler")
    clock.add_argument("verb", choices=["advance", "tick"])
    clock.add_argument("duration", nargs="?", default="0", help="e.g. 90, 45m, 2h, 1d (advance)")


def _add_feed_parser(commands: Any) -> None:
    feed = commands.add_parser(
        "feed", help="the local stack's sample feeds: follow one, or make one misbehave"
    )
    feed.add_argument("verb", choices=["urls", "add", "mode"])
    feed.add_argument("name", nargs="?", help="blog, videos, status or social")
    feed.add_argument("mode", nargs="?", help="ok, slow, broken, html, huge, error, redirect, drift or gone")
    feed.add_argument("--channel", default="announcements", help="where its entries are posted (add)")
    feed.add_argument("--user", default="mod", help="who runs /feeds add")
    feed.add_argument("--review-first", action="store_true", help="staff approve each entry (add)")
    feed.add_argument("--backfill", type=int, default=0, help="post the newest N entries now (add)")
    feed.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                      help="a mode option, e.g. seconds=30 (slow) or bytes=5000000 (huge)")  # fmt: skip


def run_feed(arguments: argparse.Namespace) -> int:
    """``urls``: where the sample feeds are; ``add NAME``: /feeds add it as a staff member would;
    ``mode NAME MODE``: make it slow, broken, huge... (``ok`` puts it right)."""
    from devstack.sample_feeds import SampleFeedsControl

    if not STATE_FILE.exists():
        sys.exit("The local stack is not running: start it with `make local` first.")
    feeds = SampleFeedsControl(json.loads(STATE_FILE.read_text())["sample_feeds"])
    names = ("blog", "videos", "status", "social")
    if arguments.verb == "urls":
        for name in names:
            print(f"{name:<7} {feeds.url(name)}")
        return 0
    if arguments.name not in names:
        sys.exit(f"name one of the sample feeds: {', '.join(names)}")
    if arguments.verb == "mode":
        options: dict[str, Any] = dict(_pair(item) for item in arguments.option)
        for key, value in options.items():
            if value.replace(".", "", 1).isdigit():
                options[key] = float(value) if "." in value else int(value)
        feeds.set_mode(arguments.name, arguments.mode or "ok", **options)
        print(f"{arguments.name}: {arguments.mode or 'ok'}")
        return 0
    add: dict[str, Any] = {"url": feeds.url(arguments.name), "channel": arguments.channel}
    if arguments.review_first:
        add["review_first"] = True
    if arguments.backfill:
        add["backfill"] = arguments.backfill
    control = _control()
    return _show_result(control, control.run_command(arguments.user, "feeds", {"add": add}))


_DURATION = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def run_clock(arguments: argparse.Namespace) -> int:
    """Move the running stack's clock (scheduled announcements, sample feeds) and run the
    scheduler at the new time, as its every-minute rule would."""
    import re
    import urllib.request

    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", arguments.duration.strip())
    if found is None:
        sys.exit("give a duration like 90, 45m, 2h or 1d")
    seconds = float(found.group(1)) * _DURATION[found.group(2)] if arguments.verb == "advance" else 0
    if not STATE_FILE.exists():
        sys.exit("The local stack is not running: start it with `make local` first.")
    gateway = json.loads(STATE_FILE.read_text())["gateway"]
    request = urllib.request.Request(  # the local stack's own http URL
        f"{gateway}/_devstack/clock",
        data=json.dumps({"advance_seconds": seconds}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    announcements, polls = answer.get("announcements_queued", 0), answer.get("feed_polls_queued", 0)
    print(f"clock: {answer['now']}  (announcements queued: {announcements}, feed polls queued: {polls})")
    return 0


def _control() -> Any:
    from devstack.discord_emulator.control import EmulatorControl

    if not STATE_FILE.exists():
        sys.exit("The local stack is not running: start it with `make local` first.")
    return EmulatorControl(json.loads(STATE_FILE.read_text())["discord"])


def run_member(control: Any, arguments: argparse.Namespace) -> int:
    options: dict[str, Any] = dict(_pair(item) for item in arguments.option)
    for name, value in options.items():
        if value.lstrip("-").isdigit():
            options[name] = int(value)
    if arguments.subcommand:
        options = {arguments.subcommand: options}
    result = control.run_command(
        arguments.user, arguments.command, options or None, channel=arguments.channel
    )
    if result.get("modal"):
        result = _fill_modal(control, arguments, result["modal"])
    return _show_result(control, result)


def _add_staff_parser(commands: Any) -> None:
    staff = commands.add_parser("staff", help="use the controls on a case post")
    staff.add_argument("user", help="who presses (staff or not: the worker checks)")
    staff.add_argument("verb", choices=sorted(STAFF_VERBS))
    staff.add_argument("number", type=int, help="the case number")
    staff.add_argument("value", nargs="?", help="status, note text, or the original's number")
    staff.add_argument("--note", help="with status: a note for the reporter (uses /case update)")


#: What ``staff`` can press on a case post: verb -> the control's action in its custom_id.
STAFF_VERBS = {
    "status": "status",
    "tell": "tell",
    "note": "note",
    "duplicate": "dup",
    "assign": "assign",
    "metoo": "metoo",
}
CASE_CHANNELS = ("bug-report", "feature-request")


def run_staff(control: Any, arguments: argparse.Namespace) -> int:
    """Press a control on case #N's post as ``user``, as the Discord client would."""
    action, number = STAFF_VERBS[arguments.verb], arguments.number
    if arguments.verb == "status" and arguments.note:
        options = {"update": {"number": number, "status": arguments.value, "note": arguments.note}}
        return _show_result(control, control.run_command(arguments.user, "case", options))
    post = _case_post(control, number)
    if post is None:
        sys.exit(f"No post of case #{number} in {' or '.join(CASE_CHANNELS)}.")
    custom_id = f"case:{action}:{number}"
    if action == "status":
        if not arguments.value:
            sys.exit("Say which status: open, triaged, in_progress, resolved or wont_fix.")
        result = control.select(arguments.user, post["id"], custom_id, [arguments.value])
    else:
        result = control.click(arguments.user, post, custom_id)
    if result.get("modal"):
        if not arguments.value:
            sys.exit(f"{arguments.verb} needs a value: the note, or the original case's number.")
        result = control.submit_modal(arguments.user, result["modal"], {"value": arguments.value})
    return _show_result(control, dict(result))


def _case_post(control: Any, number: int) -> dict[str, Any] | None:
    for channel in CASE_CHANNELS:
        for message in control.messages(channel):
            title = (message.get("embeds") or [{}])[0].get("title", "")
            if f"#{number}:" in title:
                return dict(message)
    return None


def run_click(control: Any, arguments: argparse.Namespace) -> int:
    message = _target_message(control, arguments)
    result = control.click(arguments.user, message, arguments.custom_id)
    before = message if not arguments.message else result["interaction"].get("message")
    if result.get("modal"):
        # A form opened from a button: fill it in where it opened.
        arguments.screenshot, arguments.channel = None, None
        result = _fill_modal(control, arguments, result["modal"])
    return _show_result(control, result, before=before)


def run_select(control: Any, arguments: argparse.Namespace) -> int:
    if arguments.message and arguments.token is not None:
        # `select USER CUSTOM_ID VALUE... --message ID`: no token, the first word was the menu.
        arguments.custom_id, arguments.values = arguments.token, [arguments.custom_id, *arguments.values]
        arguments.token = None
    message = _target_message(control, arguments)
    result = control.select(arguments.user, message["id"], arguments.custom_id, arguments.values)
    before = message if not arguments.message else result["interaction"].get("message")
    return _show_result(control, result, before=before)


def _target_message(control: Any, arguments: argparse.Namespace) -> dict[str, Any]:
    """The message whose component is used: the reply with that token, or (``--message``) any
    message the member can see, by id."""
    if arguments.message:
        if arguments.token is not None:
            sys.exit("Give the reply's token or --message MESSAGE_ID, not both.")
        return {"id": arguments.message}
    if arguments.token is None:
        sys.exit("Give the reply's token, or --message MESSAGE_ID for any message.")
    message = control.original_response(arguments.token)
    if not message:
        sys.exit("No reply with that token.")
    return dict(message)


def _fill_modal(control: Any, arguments: argparse.Namespace, modal: dict[str, Any]) -> dict[str, Any]:
    given = dict(_pair(item) for item in arguments.field)
    print(f"── {modal.get('title')} ──")
    values: dict[str, str] = {}
    files: dict[str, list[dict[str, str]]] = {}
    for top in modal.get("components", []):
        label = top.get("label", "")
        inner = top.get("component") or {}
        custom_id = inner.get("custom_id", "")
        if inner.get("type") == 19:
            path = arguments.screenshot
            if path is None and not given and sys.stdin.isatty():
                answer = input(f"{label} (path to a file, empty to skip): ").strip()
                path = Path(answer) if answer else None
            if path is not None:
                files[custom_id] = [{"filename": path.name, "path": str(path.resolve())}]
            continue
        current = str(inner.get("value") or "")  # a form may open filled in
        if custom_id in given:
            values[custom_id] = given[custom_id].replace("\\n", "\n")
        elif sys.stdin.isatty():
            shown = f" [{current}]" if current else ""
            values[custom_id] = input(f"{label}{shown}: ").replace("\\n", "\n") or current
        else:
            values[custom_id] = current
    return dict(
        control.submit_modal(arguments.user, modal, values, files=files or None, channel=arguments.channel)
    )


def _show_result(control: Any, result: dict[str, Any], *, before: dict[str, Any] | None = None) -> int:
    """Print the reply once the worker is done: a deferred reply shows "thinking…" until the
    worker edits it; a deferred update (a button or select on ``before``) leaves the message as
    it was until then."""
    if result.get("failed"):
        print(f"✖ This interaction failed: {result.get('error') or result.get('status_code')}")
        return 1
    interaction = result["interaction"]
    token = interaction["token"]
    message = result.get("message") or {}
    updating = before is not None and (result.get("response") or {}).get("type") == DEFERRED_UPDATE
    deadline = time.monotonic() + 20
    while (message.get("flags", 0) & LOADING_FLAG or (updating and message == before)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.3)
        message = control.original_response(token) or message
    # Who pressed or ran it: the member who can press this reply's buttons in turn.
    user = ((interaction.get("member") or {}).get("user") or interaction.get("user") or {}).get("username")
    from devstack.discord_names import directory_for

    directory = directory_for(control, [message], user)
    print(render_message(message, directory, user=user, token=token, color=_color()))
    return 0


# -- what members see ------------------------------------------------------------------------------

EPHEMERAL = 1 << 6
LINK_BUTTON = 5
BUTTON, STRING_SELECT = 2, 3
SELECTS = {STRING_SELECT: "an option", 5: "a member", 6: "a role", 7: "a member or role", 8: "a channel"}


def run_view(control: Any, arguments: argparse.Namespace) -> int:
    """``dm USER``: the member's DM with the bot; ``channel NAME [--as USER]``: a channel."""
    if arguments.action == "dm":
        channel, viewer = f"dm:{arguments.user}", arguments.user
    else:
        channel, viewer = arguments.name, arguments.as_user
    messages = control.messages(channel, as_user=viewer)
    from devstack.discord_names import directory_for

    directory = directory_for(control, messages, viewer)
    for message in messages:
        print(render_message(message, directory, user=viewer, color=_color()))
    return 0


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def render_message(
    message: dict[str, Any],
    directory: Directory,
    *,
    user: str | None = None,
    token: str | None = None,
    color: bool = False,
    hints: bool = True,
) -> str:
    """A message as the Discord client shows it, in text: the markup of its content and embeds
    rendered (``@Alice``, ``#bug-report``, local times), its files, and its buttons and menus,
    each (with ``hints``) with the command that presses it as ``user`` (by the reply's ``token``
    when there is one, else by the message's id)."""
    from devstack.discord_markup import to_terminal

    def shown(text: Any, prefix: str) -> list[str]:
        """Markup rendered, each line behind ``prefix``."""
        rendered = to_terminal(str(text), directory, color=color)
        return [(prefix + line).rstrip() for line in rendered.split("\n")]

    flags = message.get("flags", 0)
    author = (message.get("author") or {}).get("username", "?")
    lines = [f"[{author}]" + (" (only you can see this)" if flags & EPHEMERAL else "")]
    if flags & LOADING_FLAG:
        lines.append("  Flexcord is thinking…")
    if message.get("content"):
        lines += shown(message["content"], "  ")
    bar = "  ┃ "
    for embed in message.get("embeds") or []:
        if (embed.get("author") or {}).get("name"):
            lines += shown(embed["author"]["name"], bar)
        if embed.get("title"):
            lines += shown(embed["title"], bar)
        if embed.get("url"):
            lines.append(bar + str(embed["url"]))
        if embed.get("description"):
            lines += shown(embed["description"], bar)
        for field in embed.get("fields") or []:
            # "Name: value", the value's further lines under it
            name, value = shown(field.get("name", ""), ""), shown(field.get("value", ""), bar)
            lines += [f"{bar}{' '.join(name)}: {value[0][len(bar) :]}".rstrip(), *value[1:]]
        if (embed.get("image") or {}).get("url"):
            lines.append(f"{bar}[image] {embed['image']['url']}")
        if (embed.get("footer") or {}).get("text"):
            lines += shown(embed["footer"]["text"], bar)
    for attachment in message.get("attachments") or []:
        lines.append(f"  📎 {attachment.get('filename')} {attachment.get('url')}")
    lines += _component_lines(message, user, token, shown, hints=hints)
    return "\n".join(lines)


def _component_lines(
    message: dict[str, Any],
    user: str | None,
    token: str | None,
    shown: Callable[[Any, str], list[str]],
    *,
    hints: bool = True,
) -> list[str]:
    """Each row of buttons and menus on one line, then how to use each enabled one."""
    import shlex

    who = user or "<user>"
    on = token if token else f"--message {message.get('id')}"
    lines: list[str] = []
    for row in _rows(message.get("components") or []):
        if isinstance(row, str):  # a text display (components v2)
            lines += shown(row, "  ")
            continue
        labels, presses = [], []
        for component in row:
            kind, custom_id = component.get("type"), component.get("custom_id")
            emoji = (component.get("emoji") or {}).get("name")
            label = " ".join(str(part) for part in (emoji, component.get("label")) if part)
            disabled = component.get("disabled", False)
            if kind == BUTTON and component.get("style") == LINK_BUTTON:
                labels.append(f"[{label}] ↗ {component.get('url')}")
            elif kind == BUTTON and custom_id:
                labels.append(f"[{label}] ({custom_id}{', disabled' if disabled else ''})")
                if not disabled:
                    presses.append(f"press: python -m devstack click {who} {on} {shlex.quote(custom_id)}")
            elif kind in SELECTS:
                placeholder = component.get("placeholder") or "choose"
                labels.append(f"[▾ {placeholder}] ({custom_id}{', disabled' if disabled else ''})")
                values = [str(option.get("value")) for option in component.get("options") or []]
                several = "..." if int(component.get("max_values") or 1) > 1 else ""
                what = f"one of: {', '.join(values)}" if values else f"{SELECTS[kind]}'s name or id"
                if not disabled:
                    presses.append(
                        f"choose: python -m devstack select {who} {on} {shlex.quote(str(custom_id))} "
                        f"VALUE{several}  ({what})"
                    )
            else:
                labels.append(f"[{label or '?'}]" + (" (disabled)" if disabled else ""))
        lines.append("  " + "  ".join(labels))
        lines += [f"    {press}" for press in presses] if hints else []
    return lines


def _rows(components: list[Any]) -> list[Any]:
    """Action rows as lists of buttons and menus, and text displays as strings, in order, from
    classic rows and from components v2's containers and sections alike."""
    rows: list[Any] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        kind = component.get("type")
        if kind == 1:
            rows.append([c for c in component.get("components") or [] if isinstance(c, dict)])
        elif kind == 10 and component.get("content"):
            rows.append(str(component["content"]))
        elif kind in (BUTTON, *SELECTS):
            rows.append([component])
        else:
            rows += _rows(list(component.get("components") or []))
            if isinstance(component.get("accessory"), dict):
                rows += _rows([component["accessory"]])
    return rows


def _pair(item: str) -> tuple[str, str]:
    name, separator, value = item.partition("=")
    if not separator:
        sys.exit(f"expected NAME=VALUE, got {item!r}")
    return name, value


if __name__ == "__main__":
    raise SystemExit(main())
