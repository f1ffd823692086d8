"""Run the Twilio emulator, or act as its Flex agent from a shell.

python -m devstack.twilio_emulator serve --port 8802
python -m devstack.twilio_emulator --url http://127.0.0.1:8802 tasks
python -m devstack.twilio_emulator --url http://127.0.0.1:8802 accept WT... --agent alex --name Alex
python -m devstack.twilio_emulator --url http://127.0.0.1:8802 say WT... "Hello!" --file shot.png
python -m devstack.twilio_emulator --url http://127.0.0.1:8802 complete WT...
python -m devstack.twilio_emulator --url http://127.0.0.1:8802 executions
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from typing import Any

from .control import EmulatorControl
from .emulator import TwilioEmulator


def _print(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _serve(args: argparse.Namespace) -> None:
    emulator = TwilioEmulator(host=args.host, port=args.port, duplicate_deliveries=args.duplicate_deliveries)
    with emulator:
        _print(
            {
                "TWILIO_API_BASE_URL": emulator.base_url,
                "TWILIO_ACCOUNT_SID": emulator.account_sid,
                "TWILIO_AUTH_TOKEN": emulator.auth_token,
                "TWILIO_API_KEY_SID": emulator.api_key_sid,
                "TWILIO_API_KEY_SECRET": emulator.api_key_secret,
                "TWILIO_CHAT_SERVICE_SID": emulator.chat_service_sid,
                "TWILIO_WORKSPACE_SID": emulator.workspace_sid,
                "TWILIO_WORKFLOW_SID": emulator.workflow_sid,
                "TWILIO_CHAT_TASK_CHANNEL_SID": emulator.chat_task_channel_sid,
            }
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.twilio_emulator", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8802", help="a running emulator (agent commands)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8802)
    serve.add_argument("--duplicate-deliveries", action="store_true")
    tasks = commands.add_parser("tasks", help="pending and accepted tasks")
    tasks.add_argument("--all", action="store_true", help="include completed and canceled tasks")
    accept = commands.add_parser("accept", help="accept a pending task")
    accept.add_argument("task_sid")
    accept.add_argument("--agent", default="alex")
    accept.add_argument("--name", default="Alex")
    say = commands.add_parser("say", help="send a message as the agent")
    say.add_argument("target", help="a task SID (WT...) or conversation SID (CH...)")
    say.add_argument("body", nargs="?")
    say.add_argument("--agent")
    say.add_argument("--file", action="append", default=[], help="attach a file (repeatable)")
    complete = commands.add_parser("complete", help="end the chat and complete the task")
    complete.add_argument("task_sid")
    messages = commands.add_parser("messages", help="a conversation's messages")
    messages.add_argument("conversation_sid")
    commands.add_parser("deliveries", help="webhook delivery attempts")
    commands.add_parser("executions", help="Studio flow executions (steps, outcome, error)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        _serve(args)
        return
    control = EmulatorControl(args.url)
    if args.command == "tasks":
        _print(control.tasks(include_closed=args.all))
    elif args.command == "accept":
        _print(control.accept(args.task_sid, agent=args.agent, friendly_name=args.name))
    elif args.command == "say":
        _print(
            control.agent_say(
                args.target, args.body, agent=args.agent, media=[{"path": f} for f in args.file]
            )
        )
    elif args.command == "complete":
        _print(control.complete(args.task_sid))
    elif args.command == "messages":
        _print(control.messages(args.conversation_sid))
    elif args.command == "deliveries":
        _print(control.webhook_deliveries())
    elif args.command == "executions":
        _print(control.studio_executions())


if __name__ == "__main__":
    main()
