"""The one way Flexcord talks to Twilio: Conversations v1, Media, and Flex Interactions.

Twilio's REST errors are translated into the few the domain acts on.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from flexcord.adapters.twilio.http import redirect

# https://www.twilio.com/docs/api/errors
CONVERSATION_CLOSED_CODES = {50377, 50431}
UNIQUE_NAME_TAKEN = 50353
WEBHOOK_FILTERS = ["onMessageAdded", "onParticipantAdded", "onConversationStateUpdated"]
#: The message attribute that carries Flexcord's own key for a message it adds, so a retried
#: job can tell whether its earlier attempt's write went through.
MESSAGE_KEY_ATTRIBUTE = "flexcord_key"
#: Messages per page when reading a whole conversation (the API's maximum page size).
TRANSCRIPT_PAGE_SIZE = 100
#: How far back a retry looks for its earlier write: a member's chat gains a few messages a
#: minute, and retries come within minutes.
RECENT_MESSAGES_CHECKED = 50
_DOWNLOAD_CHUNK_BYTES = 64 * 1024


class TwilioError(RuntimeError):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ConversationClosed(TwilioError):
    """The conversation is closed; closed conversations cannot be reopened."""


class MediaTooLarge(TwilioError):
    """A media file is larger than the caller can pass on; it was not read whole."""


@dataclass(frozen=True)
class ConversationMessage:
    """One message of a conversation, as a transcript needs it."""

    index: int
    author: str
    body: str
    attributes: dict[str, Any]
    date_created: datetime | None
    media_filenames: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlexHandoff:
    interaction_sid: str
    channel_sid: str


class TwilioGateway:
    def __init__(
        self,
        client: Client,
        *,
        account_sid: str,
        auth_token: str,
        chat_service_sid: str | None = None,
        api_base_url: str | None = None,
    ) -> None:
        self._client = client
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._chat_service_sid = chat_service_sid
        self._api_base_url = api_base_url

    # -- conversations --------------------------------------------------------------------------

    def open_conversation(
        self,
        *,
        unique_name: str,
        friendly_name: str,
        attributes: dict[str, Any],
        inactive_after: str,
        close_after: str,
    ) -> str:
        """Create the conversation, or return the one already made under this unique name (a
        retried job must not open a second one)."""
        try:
            conversation = self._client.conversations.v1.conversations.create(
                unique_name=unique_name,
                friendly_name=friendly_name,
                attributes=json.dumps(attributes),
                # Twilio requires the state alongside timers (error 50382).
                state="active",
                timers_inactive=inactive_after,
                timers_closed=close_after,
            )
        except TwilioRestException as error:
            if error.code != UNIQUE_NAME_TAKEN:
                raise _translate(error) from error
            conversation = self._call(self._client.conversations.v1.conversations(unique_name).fetch)
        return str(conversation.sid)

    def add_participant(self, conversation_sid: str, *, identity: str, attributes: dict[str, Any]) -> str:
        participants = self._client.conversations.v1.conversations(conversation_sid).participants
        existing = [p for p in self._call(participants.list) if p.identity == identity]
        if existing:
            return str(existing[0].sid)
        participant = self._call(participants.create, identity=identity, attributes=json.dumps(attributes))
        return str(participant.sid)

    def add_event_webhook(self, conversation_sid: str, *, url: str) -> None:
        self._add_webhook(
            conversation_sid,
            target="webhook",
            configuration_url=url,
            configuration_method="POST",
            configuration_filters=WEBHOOK_FILTERS,
        )

    def add_studio_webhook(self, conversation_sid: str, *, flow_sid: str) -> None:
        self._add_webhook(conversation_sid, target="studio", configuration_flow_sid=flow_sid)

    def _add_webhook(self, conversation_sid: str, *, target: str, **configuration: Any) -> None:
        webhooks = self._client.conversations.v1.conversations(conversation_sid).webhooks
        if any(w.target == target for w in self._call(webhooks.list)):
            return  # already there (a retried job)
        self._call(webhooks.create, target=target, **configuration)

    def add_message(
        self,
        conversation_sid: str,
        *,
        author: str,
        body: str,
        attributes: dict[str, Any] | None = None,
        media_sid: str | None = None,
        trigger_webhooks: bool,
        key: str | None = None,
        may_exist: bool = False,
    ) -> str:
        """Add a message. ``trigger_webhooks`` sets X-Twilio-Webhook-Enabled: REST messages run
        the conversation's webhooks (Studio included) only with it.

        Twilio takes no idempotency key for messages, so ``key`` goes into the message's
        attributes; with ``may_exist`` (a retry, whose earlier attempt may have written it) the
        recent messages are searched for it first and the write is not repeated."""
        messages = self._client.conversations.v1.conversations(conversation_sid).messages
        if key is not None:
            attributes = {**(attributes or {}), MESSAGE_KEY_ATTRIBUTE: key}
            if may_exist:
                written = self._find_message(messages, key)
                if written is not None:
                    return written
        arguments: dict[str, Any] = {"author": author, "body": body}
        if attributes:
            arguments["attributes"] = json.dumps(attributes)
        if media_sid:
            arguments["media_sid"] = media_sid
        message = self._call(
            messages.create, x_twilio_webhook_enabled="true" if trigger_webhooks else "false", **arguments
        )
        return str(message.sid)

    def _find_message(self, messages: Any, key: str) -> str | None:
        for message in self._call(messages.list, order="desc", limit=RECENT_MESSAGES_CHECKED):
            try:
                attributes = json.loads(message.attributes or "{}")
            except ValueError:
                continue
            if isinstance(attributes, dict) and attributes.get(MESSAGE_KEY_ATTRIBUTE) == key:
                return str(message.sid)
        return None

    def conversation_messages(self, conversation_sid: str) -> list[ConversationMessage]:
        """Every message of the conversation, oldest first, following the list's pages
        (``meta.next_page_url``); a closed conversation can still be read."""
        messages = self._client.conversations.v1.conversations(conversation_sid).messages
        found = self._call(lambda: list(messages.stream(order="asc", page_size=TRANSCRIPT_PAGE_SIZE)))
        return [_conversation_message(message) for message in found]

    def update_attributes(self, conversation_sid: str, attributes: dict[str, Any]) -> None:
        conversation = self._client.conversations.v1.conversations(conversation_sid)
        current = json.loads(self._call(conversation.fetch).attributes or "{}")
        self._call(conversation.update, attributes=json.dumps({**current, **attributes}))

    def close_conversation(self, conversation_sid: str) -> None:
        conversation = self._client.conversations.v1.conversations(conversation_sid)
        with contextlib.suppress(ConversationClosed):  # already closed is what we wanted
            self._call(conversation.update, state="closed")

    # -- media ----------------------------------------------------------------------------------

    def upload_media(self, *, filename: str, content_type: str, content: bytes) -> str:
        """Upload a file to the Media Content Service (not part of the REST OpenAPI documents;
        https://www.twilio.com/docs/conversations/media-support-conversations)."""
        if not self._chat_service_sid:
            raise TwilioError("no Conversations service SID is configured for media")
        url = f"https://mcs.us1.twilio.com/v1/Services/{self._chat_service_sid}/Media"
        if self._api_base_url:
            url = redirect(url, self._api_base_url)
        response = requests.post(
            url,
            data=content,
            headers={"Content-Type": content_type, "Content-Disposition": content_disposition(filename)},
            auth=(self._account_sid, self._auth_token),
            timeout=(3.05, 20),
        )
        if response.status_code >= 400:
            raise TwilioError(
                f"media upload failed: HTTP {response.status_code}", status=response.status_code
            )
        return str(response.json()["sid"])

    def download_media(self, media_sid: str, *, max_bytes: int) -> bytes:
        """The content of a media item (an agent's attachment), through its temporary link.
        Larger than ``max_bytes``: :class:`MediaTooLarge`, without reading it whole."""
        if not self._chat_service_sid:
            raise TwilioError("no Conversations service SID is configured for media")
        url = f"https://mcs.us1.twilio.com/v1/Services/{self._chat_service_sid}/Media/{media_sid}"
        if self._api_base_url:
            url = redirect(url, self._api_base_url)
        auth = (self._account_sid, self._auth_token)
        described = requests.get(url, auth=auth, timeout=(3.05, 10))
        if described.status_code >= 400:
            raise TwilioError(
                f"media lookup failed: HTTP {described.status_code}", status=described.status_code
            )
        link = str(described.json()["links"]["content_direct_temporary"])
        if self._api_base_url:
            link = redirect(link, self._api_base_url)
        with requests.get(link, timeout=(3.05, 20), stream=True) as content:
            if content.status_code >= 400:
                raise TwilioError(
                    f"media download failed: HTTP {content.status_code}", status=content.status_code
                )
            announced = content.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise MediaTooLarge(f"media {media_sid} has {announced} bytes, over {max_bytes}")
            body = bytearray()
            for chunk in content.iter_content(_DOWNLOAD_CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise MediaTooLarge(f"media {media_sid} is over {max_bytes} bytes")
        return bytes(body)

    def user_friendly_name(self, identity: str) -> str | None:
        """The display name Flex gives an agent's Conversations user (their full name), or None
        when there is no such user or it has none. Never the identity itself: Flex identities
        are often the agent's e-mail address, encoded."""
        try:
            user = self._call(self._client.conversations.v1.users(identity).fetch)
        except TwilioError:
            return None
        name = str(getattr(user, "friendly_name", None) or "").strip()
        return name or None

    # -- Flex -----------------------------------------------------------------------------------

    def hand_off_to_flex(
        self, conversation_sid: str, *, workspace_sid: str, workflow_sid: str, task_attributes: dict[str, Any]
    ) -> FlexHandoff:
        """The direct path (no Studio): ask Flex for an agent with the Interactions API."""
        interaction = self._call(
            self._client.flex_api.v1.interaction.create,
            channel={
                "type": "chat",
                "initiated_by": "customer",
                "properties": {"media_channel_sid": conversation_sid},
            },
            routing={
                "properties": {
                    "workspace_sid": workspace_sid,
                    "workflow_sid": workflow_sid,
                    "task_channel_unique_name": "chat",
                    "attributes": task_attributes,
                }
            },
        )
        channel = interaction.channel or {}
        return FlexHandoff(interaction_sid=str(interaction.sid), channel_sid=str(channel.get("sid", "")))

    def close_interaction_channel(self, handoff: FlexHandoff) -> None:
        channel = self._client.flex_api.v1.interaction(handoff.interaction_sid).channels(handoff.channel_sid)
        self._call(channel.update, status="closed")

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _call(operation: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except TwilioRestException as error:
            raise _translate(error) from error
        except TwilioException as error:
            # twilio-python raises the bare base class for some failures (a list page that
            # answered 5xx: "Unable to fetch page"): still Twilio's failure, typed as ours.
            raise TwilioError(f"Twilio: {error}") from error


def content_disposition(filename: str) -> str:
    """``Content-Disposition`` for any file name: HTTP headers are Latin-1, so the name goes as
    RFC 6266's ``filename*`` (UTF-8, percent-encoded), with an ASCII fallback for old parsers;
    quotes and backslashes, which would end or escape the quoted name, are replaced."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _conversation_message(message: Any) -> ConversationMessage:
    try:
        attributes = json.loads(message.attributes or "{}")
    except ValueError:
        attributes = {}
    media = message.media if isinstance(message.media, list) else []
    return ConversationMessage(
        index=int(message.index or 0),
        author=str(message.author or ""),
        body=str(message.body or ""),
        attributes=attributes if isinstance(attributes, dict) else {},
        date_created=message.date_created if isinstance(message.date_created, datetime) else None,
        media_filenames=tuple(
            str(item.get("filename") or item.get("Filename") or "file")
            for item in media
            if isinstance(item, dict)
        ),
    )


def _translate(error: TwilioRestException) -> TwilioError:
    kind = ConversationClosed if error.code in CONVERSATION_CLOSED_CODES else TwilioError
    return kind(f"Twilio {error.status} ({error.code}): {error.msg}", status=error.status, code=error.code)
