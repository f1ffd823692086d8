from __future__ import annotations

import pytest

from flexcord.cases.model import CaseKind
from flexcord.permissions import ADMINISTRATOR, MANAGE_SERVER
from flexcord.servers.settings import ServerDirectory, ServerSettings
from tests.unit.fakes import InMemoryServerSettings

DEFAULTS = ServerSettings(
    guild_id="home", bug_report_channel_id="bugs-default", staff_role_id="staff-default"
)
NOW = "2026-12-03T10:00:00+00:00"


@pytest.fixture
def directory() -> ServerDirectory:
    return ServerDirectory(InMemoryServerSettings(), defaults=DEFAULTS)


def test_the_configured_server_falls_back_to_the_template_defaults(directory: ServerDirectory) -> None:
    assert directory.settings_for("home").bug_report_channel_id == "bugs-default"
    changed = directory.change("home", by="admin", now=NOW, bug_report_channel_id="bugs-chosen")
    assert changed.bug_report_channel_id == "bugs-chosen"
    assert changed.staff_role_id == "staff-default"
    assert changed.updated_by == "admin"


def test_dms_use_the_configured_server(directory: ServerDirectory) -> None:
    assert directory.settings_for(None).guild_id == "home"


def test_other_servers_start_empty_and_keep_their_own_settings(directory: ServerDirectory) -> None:
    assert directory.settings_for("two").bug_report_channel_id is None
    directory.change("two", by="admin2", now=NOW, bug_report_channel_id="bugs-two", staff_role_id="mods-two")
    assert directory.settings_for("two").channel_for(CaseKind.BUG) == "bugs-two"
    assert directory.settings_for("home").channel_for(CaseKind.BUG) == "bugs-default"
    assert directory.settings_for("two").channel_for(CaseKind.SUPPORT) is None


def test_changing_an_unknown_setting_is_refused_and_changes_nothing(directory: ServerDirectory) -> None:
    with pytest.raises(ValueError, match="unknown settings: colour"):
        directory.change("two", by="admin", now=NOW, colour="red")
    assert directory.settings_for("two") == ServerSettings(guild_id="two")


@pytest.mark.parametrize(
    ("roles", "permissions", "staff"),
    [
        (("mods",), "0", True),
        (("fans",), "0", False),
        ((), str(MANAGE_SERVER), True),
        ((), str(ADMINISTRATOR), True),
        ((), "not-a-number", False),
    ],
)
def test_staff_are_the_staff_role_and_server_managers(
    roles: tuple[str, ...], permissions: str, staff: bool
) -> None:
    assert ServerSettings(guild_id="g", staff_role_id="mods").is_staff(roles, permissions) is staff


def test_no_staff_role_means_only_managers_are_staff() -> None:
    assert not ServerSettings(guild_id="g").is_staff(("", "x"), "0")


def test_with_no_configured_server_the_template_settings_are_every_servers_defaults() -> None:
    from flexcord.cases.model import NO_SERVER

    directory = ServerDirectory(
        InMemoryServerSettings(), defaults=ServerSettings(guild_id=NO_SERVER, bug_report_channel_id="bugs")
    )
    assert directory.settings_for("any").bug_report_channel_id == "bugs"
    assert directory.settings_for("any").guild_id == "any"
    assert directory.settings_for(None).bug_report_channel_id == "bugs"


def test_unreadable_support_hours_count_as_always_open() -> None:
    settings = InMemoryServerSettings()
    settings.update(
        "g", {"hours": {"time_zone": "Mars/Olympus", "days": ["mon"], "opens": "09:00", "closes": "17:00"}}
    )
    directory = ServerDirectory(settings, defaults=None)
    assert directory.support_hours_of("g").always_open
