"""/setup: the endpoint's decisions over signed payloads, and the worker over in-memory settings
and a fake server. Who may change settings is checked at both, and nothing changes otherwise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from flexcord.adapters.discord.permissions import SEND_MESSAGES
from flexcord.interactions.commands import COMMANDS, commands_for_registration
from flexcord.interactions.endpoint import InteractionsEndpoint
from flexcord.jobs.model import InteractionContext, Job, JobKind
from flexcord.jobs.setup_jobs import SetupJobs
from flexcord.permissions import ADMINISTRATOR, MANAGE_SERVER
from flexcord.servers.channel_check import ChannelChecker
from flexcord.servers.settings import ServerDirectory, ServerSettings
from tests.support.signing import TEST_PUBLIC_KEY, http_event, signed_headers
from tests.unit.fakes import InMemoryServerSettings, RecordingQueue
from tests.unit.servers.guild_fakes import BOT, BOT_ROLE, GUILD, OTHER_GUILD, FakeGuild

NOW = 1_790_000_000
ADMIN = str(MANAGE_SERVER)
MEMBER = str(SEND_MESSAGES)
APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT = 2, 3, 5
DEFERRED_MESSAGE, DEFERRED_UPDATE, MESSAGE, MODAL = 5, 6, 4, 9


# -- the endpoint ------------------------------------------------------------------------------


def payload(
    kind: int, data: dict[str, Any], *, permissions: str = ADMIN, guild: str | None = GUILD
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "1300000000000000001",
        "application_id": "1200000000000000000",
        "type": kind,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "901",
        "locale": "en-GB",
        "data": data,
    }
    user = {"id": "111", "username": "alice", "global_name": "Alice"}
    if guild is None:
        body["user"] = user
    else:
        body["guild_id"] = guild
        body["member"] = {"user": user, "roles": [], "permissions": permissions}
    return body


def call(queue: RecordingQueue, body: dict[str, Any]) -> dict[str, Any]:
    endpoint = InteractionsEndpoint(public_key=TEST_PUBLIC_KEY, queue=lambda: queue, clock=lambda: NOW)
    raw = json.dumps(body).encode()
    result = endpoint.handle(http_event(raw, signed_headers(raw, timestamp=NOW)))
    assert result["statusCode"] == 200
    answer: dict[str, Any] = json.loads(result["body"])
    return answer


def setup_command(**kwargs: Any) -> dict[str, Any]:
    return payload(APPLICATION_COMMAND, {"id": "5", "name": "setup", "type": 1}, **kwargs)


def select(custom_id: str, values: list[str], **kwargs: Any) -> dict[str, Any]:
    resolved = {"channels": {value: {"id": value, "name": "bug-report", "type": 0} for value in values}}
    return payload(
        MESSAGE_COMPONENT,
        {"custom_id": custom_id, "component_type": 8, "values": values, "resolved": resolved},
        **kwargs,
    )


def hours_submission(**values: str) -> dict[str, Any]:
    fields = {
        "days": "Mon-Fri",
        "hours": "09:00-17:00",
        "time_zone": "Europe/Paris",
        "holidays": "",
        **values,
    }
    fields.setdefault("after_hours_message", "")
    components = [
        {
            "type": 18,
            "id": index,
            "component": {"type": 4, "id": index + 10, "custom_id": key, "value": value},
        }
        for index, (key, value) in enumerate(fields.items())
    ]
    return payload(MODAL_SUBMIT, {"custom_id": "setup:hours", "components": components})


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def test_setup_is_registered_for_server_managers_in_servers_only() -> None:
    [setup] = [c for c in commands_for_registration(guild_id=None) if c["name"] == "setup"]
    assert setup["default_member_permissions"] == "32"
    assert setup["contexts"] == [0]
    # /announce is servers-only too (tests/unit/test_announce_routes.py).
    others = [
        c for c in commands_for_registration(guild_id=None) if c["name"] not in ("setup", "announce", "feeds")
    ]
    assert all(c["contexts"] == [0, 1] for c in others)
    [guild_setup] = [c for c in commands_for_registration(guild_id="1") if c["name"] == "setup"]
    assert "contexts" not in guild_setup
    assert guild_setup["default_member_permissions"] == "32"
    assert all("contexts" not in c for c in COMMANDS)


@pytest.mark.parametrize(
    "permissions", [ADMIN, str(ADMINISTRATOR), str(ADMINISTRATOR | MANAGE_SERVER | 1024)]
)
def test_a_server_manager_gets_the_settings_privately(queue: RecordingQueue, permissions: str) -> None:
    assert call(queue, setup_command(permissions=permissions)) == {
        "type": DEFERRED_MESSAGE,
        "data": {"flags": 64},
    }
    [job] = queue.jobs
    assert (job.kind, job.payload) == (JobKind.SETUP_SHOW, {"view": "channels"})
    assert job.interaction.guild_id == GUILD


@pytest.mark.parametrize("permissions", [MEMBER, "0", "garbage"])
def test_anyone_else_is_refused_and_nothing_is_queued(queue: RecordingQueue, permissions: str) -> None:
    answer = call(queue, setup_command(permissions=permissions))
    assert answer["type"] == MESSAGE
    assert answer["data"]["flags"] == 64
    assert "Manage Server" in answer["data"]["content"]
    assert queue.jobs == []


def test_setup_from_a_dm_is_refused(queue: RecordingQueue) -> None:
    answer = call(queue, setup_command(guild=None))
    assert "Use `/setup` in your server" in answer["data"]["content"]
    assert queue.jobs == []


@pytest.mark.parametrize(
    "body",
    [
        select("setup:channel:bug_report_channel_id", ["123456789012345678"], permissions=MEMBER),
        select("setup:staff_role", ["123456789012345678"], permissions=MEMBER),
        payload(
            MESSAGE_COMPONENT, {"custom_id": "setup:view:staff", "component_type": 2}, permissions=MEMBER
        ),
        payload(MESSAGE_COMPONENT, {"custom_id": "setup:hours", "component_type": 2}, permissions=MEMBER),
        payload(MODAL_SUBMIT, {"custom_id": "setup:hours", "components": []}, permissions=MEMBER),
    ],
)
def test_a_crafted_control_from_a_non_admin_changes_nothing(
    queue: RecordingQueue, body: dict[str, Any]
) -> None:
    answer = call(queue, body)
    assert answer["type"] == MESSAGE
    assert "Only members with the **Manage Server** permission" in answer["data"]["content"]
    assert queue.jobs == []


def test_a_channel_pick_is_queued_with_the_name_the_admin_saw(queue: RecordingQueue) -> None:
    answer = call(queue, select("setup:channel:bug_report_channel_id", ["123456789012345678"]))
    assert answer == {"type": DEFERRED_UPDATE}
    [job] = queue.jobs
    assert job.kind is JobKind.SETUP_CHANGE
    assert job.payload == {
        "setting": "bug_report_channel_id",
        "channel_id": "123456789012345678",
        "channel_name": "bug-report",
    }


def test_a_role_pick_and_the_view_buttons_are_queued(queue: RecordingQueue) -> None:
    assert call(queue, select("setup:staff_role", ["55"])) == {"type": DEFERRED_UPDATE}
    staff = payload(MESSAGE_COMPONENT, {"custom_id": "setup:view:staff", "component_type": 2})
    assert call(queue, staff) == {"type": DEFERRED_UPDATE}
    assert [(job.kind, job.payload) for job in queue.jobs] == [
        (JobKind.SETUP_CHANGE, {"setting": "staff_role_id", "role_id": "55"}),
        (JobKind.SETUP_SHOW, {"view": "staff"}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        select("setup:channel:staff_role_id", ["1"]),  # not a channel setting
        select("setup:channel:guild_id", ["1"]),
        select("setup:channel:bug_report_channel_id", []),
        select("setup:channel:bug_report_channel_id", ["1", "2"]),
        select("setup:channel:bug_report_channel_id", ["not-an-id"]),
        select("setup:staff_role", ["1" * 30]),
        payload(MESSAGE_COMPONENT, {"custom_id": "setup:nothing", "component_type": 2}),
    ],
)
def test_a_control_that_does_not_exist_is_stale(queue: RecordingQueue, body: dict[str, Any]) -> None:
    answer = call(queue, body)
    assert answer["data"]["content"] == "This setting no longer does anything. Please run `/setup` again."
    assert queue.jobs == []


def test_the_hours_form_opens_filled_in_from_the_settings_message(queue: RecordingQueue) -> None:
    settings = ServerSettings(
        guild_id=GUILD,
        hours={
            "time_zone": "Europe/Paris",
            "days": ["mon", "sat"],
            "opens": "18:00",
            "closes": "02:00",
            "holidays": ["2026-12-25"],
            "after_hours_message": "Later!",
        },
    )
    from flexcord.jobs.setup_jobs import settings_embed

    body = payload(MESSAGE_COMPONENT, {"custom_id": "setup:hours", "component_type": 2})
    body["message"] = {"id": "77", "embeds": [settings_embed(settings, "staff")]}
    answer = call(queue, body)
    assert answer["type"] == MODAL
    assert answer["data"]["custom_id"] == "setup:hours"
    assert answer["data"]["title"] == "Support hours"
    labels = answer["data"]["components"]
    assert [label["type"] for label in labels] == [18] * 5
    assert {label["component"]["custom_id"]: label["component"].get("value") for label in labels} == {
        "days": "Mon, Sat",
        "hours": "18:00-02:00",
        "time_zone": "Europe/Paris",
        "holidays": "2026-12-25",
        "after_hours_message": "Later!",
    }
    assert queue.jobs == []


def test_the_hours_form_opens_empty_without_a_settings_message(queue: RecordingQueue) -> None:
    answer = call(queue, payload(MESSAGE_COMPONENT, {"custom_id": "setup:hours", "component_type": 2}))
    assert all("value" not in label["component"] for label in answer["data"]["components"])
    assert all(label["component"]["placeholder"] for label in answer["data"]["components"])


def test_valid_hours_are_queued(queue: RecordingQueue) -> None:
    assert call(queue, hours_submission()) == {"type": DEFERRED_UPDATE}
    [job] = queue.jobs
    assert job.payload == {
        "setting": "hours",
        "form": {
            "days": "Mon-Fri",
            "hours": "09:00-17:00",
            "time_zone": "Europe/Paris",
            "holidays": "",
            "after_hours_message": "",
        },
    }


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"hours": "9am-5pm"}, "'9am' is not a time"),
        ({"time_zone": "Paris"}, "'Paris' is not a time zone"),
        ({"holidays": "Christmas"}, "'Christmas' is not a date"),
        ({"days": "Someday"}, "'someday' is not a day"),
    ],
)
def test_invalid_hours_are_explained_and_nothing_is_queued(
    queue: RecordingQueue, values: dict[str, str], problem: str
) -> None:
    answer = call(queue, hours_submission(**values))
    assert answer["type"] == MESSAGE
    assert answer["data"]["flags"] == 64
    assert answer["data"]["content"].startswith("⚠️ Support hours not saved: ")
    assert problem in answer["data"]["content"]
    assert queue.jobs == []


# -- the worker ---------------------------------------------------------------------------------


class RecordingDiscord:
    """What the setup jobs write: edits of the settings message."""

    def __init__(self) -> None:
        self.edits: list[dict[str, Any]] = []

    def edit_original_response(self, token: str, **message: Any) -> dict[str, Any]:
        self.edits.append({"token": token, **message})
        return {}

    @property
    def last(self) -> dict[str, Any]:
        return self.edits[-1]


class Fixture:
    def __init__(self) -> None:
        self.storage = InMemoryServerSettings()
        self.directory = ServerDirectory(
            self.storage,
            defaults=ServerSettings(guild_id=GUILD, bug_report_channel_id="7000", staff_role_id="8000"),
        )
        self.guild = FakeGuild()
        self.guild.add("1001", "bug-report")
        self.guild.add("1002", "ideas", 15, available_tags=[])
        self.guild.add("1003", "news", 5)
        self.guild.add("2001", "their-bugs", guild=OTHER_GUILD)
        self.guild.roles.append({"id": "3001", "name": "Mods", "permissions": "0"})
        self.discord = RecordingDiscord()
        self.jobs = SetupJobs(
            self.directory,
            self.discord,  # type: ignore[arg-type]
            ChannelChecker(self.guild, bot_user_id=BOT),
            guild=self.guild,
            clock=lambda: datetime(2026, 12, 3, 15, 0, tzinfo=UTC),
        )

    def job(
        self, kind: JobKind, payload: dict[str, Any], *, permissions: str = ADMIN, guild: str = GUILD
    ) -> Job:
        context = InteractionContext(
            interaction_id="i-1",
            application_id="app",
            token="tok",
            user_id="111",
            username="alice",
            display_name="Alice",
            roles=(),
            guild_id=guild,
            channel_id="901",
            locale="en-US",
            permissions=permissions,
        )
        return Job.for_interaction(kind, context, payload)

    def change(
        self, setting: str, *, guild: str = GUILD, permissions: str = ADMIN, **payload: Any
    ) -> dict[str, Any]:
        return self.jobs.change(
            self.job(
                JobKind.SETUP_CHANGE, {"setting": setting, **payload}, guild=guild, permissions=permissions
            )
        )


@pytest.fixture
def setup() -> Fixture:
    return Fixture()


def fields(edit: dict[str, Any]) -> dict[str, str]:
    [embed] = edit["embeds"]
    return {field["name"]: field["value"] for field in embed["fields"]}


def test_the_channels_view_shows_the_settings_and_a_select_per_channel(setup: Fixture) -> None:
    assert setup.jobs.show(setup.job(JobKind.SETUP_SHOW, {"view": "channels"})) == {"shown": "channels"}
    edit = setup.discord.last
    assert edit["token"] == "tok"
    assert fields(edit) == {
        "Bug reports": "<#7000>",  # the template's default for the configured server
        "Feature requests": "Not set",
        "Announcements": "Not set",
        "Support (private chat threads)": "Not set",
        "Staff notices and reviews": "Not set",
        "Staff role": "<@&8000>",
        "Support hours": "Always open",
        "After-hours message": "Our agents are away right now.",
    }
    rows = edit["components"]
    assert len(rows) == 5
    assert all(len(row["components"]) == 1 for row in rows[:4])
    selects = [row["components"][0] for row in rows[:4]]
    assert [(s["type"], s["custom_id"], s["channel_types"]) for s in selects] == [
        (8, "setup:channel:bug_report_channel_id", [0, 15]),
        (8, "setup:channel:feature_request_channel_id", [0, 15]),
        (8, "setup:channel:announcements_channel_id", [0, 5]),
        (8, "setup:channel:support_channel_id", [0]),
    ]
    assert selects[0]["default_values"] == [{"id": "7000", "type": "channel"}]
    assert "default_values" not in selects[1]
    assert [(b["custom_id"], b["disabled"]) for b in rows[4]["components"]] == [
        ("setup:view:channels", True),
        ("setup:view:staff", False),
    ]


def test_the_staff_and_hours_view_has_the_role_select_and_the_hours_button(setup: Fixture) -> None:
    setup.jobs.show(setup.job(JobKind.SETUP_SHOW, {"view": "staff"}))
    rows = setup.discord.last["components"]
    assert len(rows) == 3
    [role_select] = rows[0]["components"]
    assert (role_select["type"], role_select["custom_id"]) == (6, "setup:staff_role")
    assert role_select["default_values"] == [{"id": "8000", "type": "role"}]
    [staff_channel] = rows[1]["components"]
    assert (staff_channel["type"], staff_channel["custom_id"], staff_channel["channel_types"]) == (
        8,
        "setup:channel:staff_channel_id",
        [0],
    )
    assert [b["custom_id"] for b in rows[2]["components"]] == [
        "setup:hours",
        "setup:view:channels",
        "setup:view:staff",
    ]
    shown = fields(setup.discord.last)
    assert (shown["Days"], shown["Hours"], shown["Time zone"], shown["Holidays"]) == (
        "—",
        "always open",
        "UTC",
        "—",
    )


def test_a_channel_the_bot_can_use_is_saved_with_who_and_when(setup: Fixture) -> None:
    assert setup.change("bug_report_channel_id", channel_id="1001", channel_name="bug-report") == {
        "saved": True,
        "setting": "bug_report_channel_id",
    }
    stored = setup.storage.documents[GUILD]
    assert stored["bug_report_channel_id"] == "1001"
    assert (stored["updated_by"], stored["updated_at"]) == ("111", "2026-12-03T15:00:00+00:00")
    edit = setup.discord.last
    assert edit["content"].startswith("✅ Bug reports: now <#1001>.")
    assert fields(edit)["Bug reports"] == "<#1001>"
    assert (
        edit["embeds"][0]["description"]
        == f"Last changed by <@111> <t:{int(datetime(2026, 12, 3, 15, tzinfo=UTC).timestamp())}:R>."
    )


def test_a_channel_missing_permissions_is_not_saved_and_the_permissions_are_named(setup: Fixture) -> None:
    setup.guild.deny("1001", BOT_ROLE, SEND_MESSAGES | (1 << 15))
    assert (
        setup.change("bug_report_channel_id", channel_id="1001", channel_name="bug-report")["saved"] is False
    )
    assert GUILD not in setup.storage.documents
    edit = setup.discord.last
    assert edit["content"].startswith(
        "⚠️ I can't use #bug-report: I'm missing **Send Messages** and **Attach Files** there. "
        "Nothing was changed."
    )
    assert fields(edit)["Bug reports"] == "<#7000>"  # still the old one


def test_a_forum_without_its_tags_or_manage_channels_is_not_saved(setup: Fixture) -> None:
    setup.change("feature_request_channel_id", channel_id="1002", channel_name="ideas")
    assert GUILD not in setup.storage.documents
    assert "**Manage Channels**" in setup.discord.last["content"]


def test_a_channel_of_another_server_is_refused(setup: Fixture) -> None:
    setup.change("bug_report_channel_id", channel_id="2001", channel_name="their-bugs")
    assert GUILD not in setup.storage.documents
    assert "isn't a channel of this server" in setup.discord.last["content"]


@pytest.mark.parametrize(
    ("payload", "permissions"),
    [
        ({"setting": "bug_report_channel_id", "channel_id": "1001"}, MEMBER),
        ({"setting": "staff_role_id", "role_id": "3001"}, "0"),
        ({"setting": "hours", "form": {"hours": "always open"}}, MEMBER),
    ],
)
def test_the_worker_refuses_a_non_admin_whatever_the_job_says(
    setup: Fixture, payload: dict[str, Any], permissions: str
) -> None:
    result = setup.jobs.change(setup.job(JobKind.SETUP_CHANGE, payload, permissions=permissions))
    assert result == {"refused": True}
    assert setup.storage.documents == {}
    assert "Only members with the **Manage Server** permission" in setup.discord.last["content"]
    assert setup.jobs.show(setup.job(JobKind.SETUP_SHOW, {}, permissions=permissions)) == {"refused": True}


def test_the_staff_role_is_saved_when_it_is_a_real_role_of_the_server(setup: Fixture) -> None:
    assert setup.change("staff_role_id", role_id="3001")["saved"] is True
    assert setup.directory.settings_for(GUILD).staff_role_id == "3001"
    assert setup.discord.last["content"].startswith("✅ Staff role: now <@&3001>.")
    assert setup.discord.last["components"][0]["components"][0]["type"] == 6  # the Staff & hours view


@pytest.mark.parametrize(
    ("role_id", "problem"),
    [
        (GUILD, "@everyone can't be the staff role"),
        (BOT_ROLE, "Flexcord belongs to a bot or an integration"),
        ("424242", "That role isn't one of this server's roles"),
    ],
)
def test_a_role_that_cannot_be_the_staff_role_is_refused(setup: Fixture, role_id: str, problem: str) -> None:
    assert setup.change("staff_role_id", role_id=role_id)["saved"] is False
    assert setup.directory.settings_for(GUILD).staff_role_id == "8000"
    assert problem in setup.discord.last["content"]


def test_support_hours_are_saved_as_a_document(setup: Fixture) -> None:
    form = {"days": "Mon-Fri", "hours": "09:00-17:00", "time_zone": "Europe/Paris", "holidays": "2026-12-25"}
    assert setup.change("hours", form=form)["saved"] is True
    hours = setup.directory.settings_for(GUILD).support_hours
    assert hours.describe() == "Mon–Fri 09:00–17:00 Europe/Paris; closed on holidays"
    edit = setup.discord.last
    assert edit["content"].startswith(
        "✅ Support hours: now Mon–Fri 09:00–17:00 Europe/Paris; closed on holidays."
    )
    assert fields(edit)["Support hours"] == hours.describe()
    assert fields(edit)["Holidays"] == "2026-12-25"


def test_invalid_support_hours_reaching_the_worker_save_nothing(setup: Fixture) -> None:
    assert setup.change("hours", form={"days": "Mon", "hours": "25:00-26:00"})["saved"] is False
    assert setup.storage.documents == {}
    assert setup.discord.last["content"].startswith("⚠️ Support hours not saved: '25:00' is not a time.")


def test_an_unknown_setting_changes_nothing(setup: Fixture) -> None:
    assert setup.change("guild_id", value="x")["saved"] is False
    assert setup.storage.documents == {}


def test_two_servers_keep_their_own_settings(setup: Fixture) -> None:
    setup.guild.add("2002", "their-news", 5, guild=OTHER_GUILD)
    setup.change("announcements_channel_id", channel_id="1003", channel_name="news")
    setup.change("announcements_channel_id", guild=OTHER_GUILD, channel_id="2002", channel_name="their-news")
    assert setup.directory.settings_for(GUILD).announcements_channel_id == "1003"
    assert setup.directory.settings_for(OTHER_GUILD).announcements_channel_id == "2002"
    # The other server has no template defaults: only what its admin set.
    assert setup.directory.settings_for(OTHER_GUILD).bug_report_channel_id is None


def test_a_refused_discord_read_is_explained_not_retried(
    setup: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flexcord.adapters.discord import DiscordApiError

    def refuse(guild_id: str) -> list[dict[str, Any]]:
        raise DiscordApiError(403, 50013, "Missing Permissions")

    monkeypatch.setattr(setup.guild, "list_guild_roles", refuse)
    assert setup.change("staff_role_id", role_id="3001") == {"saved": False, "setting": "staff_role_id"}
    assert setup.storage.documents == {}
    assert setup.discord.last["content"].startswith("⚠️ Discord wouldn't let me check that (error 50013).")
