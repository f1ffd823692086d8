"""Server settings in DynamoDB (moto on loopback, the table from template.yaml): each server's
settings round-trip under its own key, and a change touches only the settings it names."""

from __future__ import annotations

from devstack.aws_resources import LocalResources
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.server_settings import DynamoServerSettings
from flexcord.servers.hours import SupportHours
from flexcord.servers.settings import ServerDirectory, ServerSettings

NOW = "2026-12-03T15:00:00+00:00"


def test_settings_round_trip_per_server_and_changes_touch_only_what_they_name(aws: LocalResources) -> None:
    storage = DynamoServerSettings(dynamodb_client(), aws.table_name)
    directory = ServerDirectory(storage, defaults=ServerSettings(guild_id="1", staff_role_id="10"))
    assert storage.get("2") is None
    hours = SupportHours(time_zone="Europe/Paris").to_document()
    saved = directory.change("2", by="admin", now=NOW, bug_report_channel_id="20", hours=hours)
    assert saved == ServerSettings(
        guild_id="2", bug_report_channel_id="20", hours=hours, updated_at=NOW, updated_by="admin"
    )
    directory.change("2", by="other", now=NOW, support_channel_id="21")
    again = storage.get("2")
    assert again is not None
    assert (again.guild_id, again.bug_report_channel_id, again.support_channel_id) == ("2", "20", "21")
    assert again.support_hours.time_zone == "Europe/Paris"
    # The configured server keeps the template's defaults for what it never set.
    directory.change("1", by="admin", now=NOW, announcements_channel_id="30")
    first = directory.settings_for("1")
    assert (first.guild_id, first.announcements_channel_id, first.staff_role_id) == ("1", "30", "10")
    assert directory.settings_for("2").staff_role_id is None
