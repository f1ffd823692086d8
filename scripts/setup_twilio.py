"""One command that sets up the Twilio side of Flexcord, and can be run again safely.

    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... python scripts/setup_twilio.py \\
        --chatbot-url https://<api>/twilio/chatbot --workflow WW... --chat-channel TC...

It fills studio/flexcord-flow.json's placeholders, has Studio v2 validate the definition, then
creates the flow or updates it when it changed (nothing is written when it did not), checks the
Conversations and Flex configuration the chat depends on, and prints the values to give
`sam deploy` (TwilioStudioFlowSid, TwilioConversationsServiceSid, TwilioFlexWorkspaceSid...).
The chatbot URL is the stack's `ChatbotUrl` output. TWILIO_API_BASE_URL points it at the local
emulator, as it does the functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "flexcord"))

FLOW_FILE = ROOT / "studio" / "flexcord-flow.json"
DEFAULT_FLOW_NAME = "Flexcord assistant"
PLACEHOLDER = re.compile(r"\$\{[A-Z_]+\}")


class SetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class SetupResult:
    flow_sid: str
    action: str  # "created", "updated" or "unchanged"
    revision: int
    conversations_service_sid: str
    flex_workspace_sid: str
    workflow_sid: str

    def parameter_overrides(self) -> str:
        return (
            f"TwilioStudioFlowSid={self.flow_sid} "
            f"TwilioConversationsServiceSid={self.conversations_service_sid} "
            f"TwilioFlexWorkspaceSid={self.flex_workspace_sid} "
            f"TwilioFlexWorkflowSid={self.workflow_sid}"
        )


def flow_definition(*, chatbot_url: str, workflow_sid: str, chat_channel_sid: str) -> dict[str, Any]:
    """The shipped flow with its placeholders filled."""
    text = FLOW_FILE.read_text()
    for placeholder, value in {
        "${CHATBOT_URL}": chatbot_url,
        "${FLEX_WORKFLOW_SID}": workflow_sid,
        "${FLEX_CHAT_CHANNEL_SID}": chat_channel_sid,
    }.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.findall(text)
    if left:
        raise SetupError(f"{FLOW_FILE.name} has placeholders this command does not fill: {', '.join(left)}")
    definition: dict[str, Any] = json.loads(text)
    return definition


def set_up(
    client: Any, *, chatbot_url: str, workflow_sid: str, chat_channel_sid: str, flow_name: str
) -> SetupResult:
    from twilio.base.exceptions import TwilioRestException

    definition = flow_definition(
        chatbot_url=chatbot_url, workflow_sid=workflow_sid, chat_channel_sid=chat_channel_sid
    )
    try:
        client.studio.v2.flow_validate.update(
            friendly_name=flow_name, status="published", definition=definition
        )
    except TwilioRestException as error:
        raise SetupError(
            f"Studio refused the flow definition: {error.msg} ({error.details or error.code})"
        ) from error

    named = [flow for flow in client.studio.v2.flows.list() if flow.friendly_name == flow_name]
    if len(named) > 1:
        raise SetupError(f"{len(named)} Studio flows are named {flow_name!r}; keep one, or pass --flow-name")
    if not named:
        flow = client.studio.v2.flows.create(
            friendly_name=flow_name,
            status="published",
            definition=definition,
            commit_message="Flexcord setup",
        )
        action = "created"
    else:
        # Lists leave the definition out: fetch the flow to compare. Every update makes a new
        # revision, so an unchanged flow is not written at all.
        flow = client.studio.v2.flows(named[0].sid).fetch()
        if flow.definition == definition and flow.status == "published":
            action = "unchanged"
        else:
            flow = client.studio.v2.flows(flow.sid).update(
                status="published", definition=definition, commit_message="Flexcord setup"
            )
            action = "updated"

    conversations = client.conversations.v1.configuration().fetch()
    if not conversations.default_chat_service_sid:
        raise SetupError("Conversations has no default chat service: is Flex Conversations enabled?")
    flex = client.flex_api.v1.configuration().fetch()
    workspace = getattr(flex, "taskrouter_workspace_sid", None)
    if not workspace:
        raise SetupError("Flex reports no TaskRouter workspace: is Flex set up on this account?")
    return SetupResult(
        flow_sid=str(flow.sid),
        action=action,
        revision=int(flow.revision or 1),
        conversations_service_sid=str(conversations.default_chat_service_sid),
        flex_workspace_sid=str(workspace),
        workflow_sid=workflow_sid,
    )


def twilio_client() -> Any:
    from twilio.rest import Client

    from flexcord.adapters.twilio.http import http_client

    try:
        account_sid, auth_token = os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"]
    except KeyError as missing:
        raise SetupError(f"{missing.args[0]} is not set") from None
    base_url = os.environ.get("TWILIO_API_BASE_URL")
    return Client(account_sid, auth_token, http_client=http_client(base_url))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chatbot-url", required=True, help="the stack's ChatbotUrl output")
    parser.add_argument(
        "--workflow", required=True, help="the TaskRouter workflow chats are routed with (WW...)"
    )
    parser.add_argument("--chat-channel", required=True, help="the TaskRouter task channel for chat (TC...)")
    parser.add_argument("--flow-name", default=DEFAULT_FLOW_NAME)
    arguments = parser.parse_args(argv)
    try:
        result = set_up(
            twilio_client(),
            chatbot_url=arguments.chatbot_url,
            workflow_sid=arguments.workflow,
            chat_channel_sid=arguments.chat_channel,
            flow_name=arguments.flow_name,
        )
    except SetupError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    flow = f"{result.flow_sid}, revision {result.revision}"
    print(f"Studio flow {arguments.flow_name!r}: {result.action} ({flow})")
    print(f"Conversations service: {result.conversations_service_sid}")
    print(f"Flex TaskRouter workspace: {result.flex_workspace_sid}")
    print("\nDeploy with:")
    print(f"  sam deploy --parameter-overrides {result.parameter_overrides()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
