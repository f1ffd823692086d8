"""The account-wide configuration reads a setup command makes: Conversations'
``GET /v1/Configuration`` and Flex's ``GET /v1/Configuration``, with the emulator's SIDs (its chat
service, messaging service, TaskRouter workspace, workflow, queue and chat task channel)."""

from __future__ import annotations

from .clock import iso_seconds
from .sids import (
    DEFAULT_FLEX_INSTANCE_SID,
    DEFAULT_MESSAGING_SERVICE_SID,
    DEFAULT_OFFLINE_ACTIVITY_SID,
    DEFAULT_QUEUE_SID,
)
from .state import JsonObject, TwilioState


def conversations_configuration(state: TwilioState) -> JsonObject:
    """Conversations' global configuration. No default timers are set (as on a new account)."""
    base = f"{state.product_url('conversations')}/v1"
    return {
        "account_sid": state.account_sid,
        "default_chat_service_sid": state.chat_service_sid,
        "default_messaging_service_sid": DEFAULT_MESSAGING_SERVICE_SID,
        "default_inactive_timer": None,
        "default_closed_timer": None,
        "url": f"{base}/Configuration",
        "links": {
            "service": f"{base}/Services/{state.chat_service_sid}/Configuration",
            "webhooks": f"{base}/Configuration/Webhooks",
        },
    }


def flex_configuration(state: TwilioState) -> JsonObject:
    """A provisioned Flex (``status: ok``) on Flex Conversations; every property of the spec's
    schema is present, the ones the emulator has nothing for are null or empty."""
    created = iso_seconds(state.date_created)
    return {
        "account_sid": state.account_sid,
        "date_created": created,
        "date_updated": created,
        "attributes": {},
        "status": "ok",
        "taskrouter_workspace_sid": state.workspace_sid,
        "taskrouter_target_workflow_sid": state.workflow_sid,
        "taskrouter_target_taskqueue_sid": DEFAULT_QUEUE_SID,
        "taskrouter_taskqueues": [{"sid": DEFAULT_QUEUE_SID, "targettable": True}],
        "taskrouter_skills": [],
        "taskrouter_worker_channels": {"agent": [{"name": "chat", "availability": True, "capacity": 1}]},
        "taskrouter_worker_attributes": {},
        "taskrouter_offline_activity_sid": DEFAULT_OFFLINE_ACTIVITY_SID,
        "runtime_domain": None,
        "messaging_service_instance_sid": DEFAULT_MESSAGING_SERVICE_SID,
        # Flex Conversations uses the account's default Conversations service ("Flex Chat Service").
        "chat_service_instance_sid": state.chat_service_sid,
        "flex_service_instance_sid": state.chat_service_sid,
        "flex_instance_sid": DEFAULT_FLEX_INSTANCE_SID,
        "ui_language": "en",
        "ui_attributes": {},
        "ui_dependencies": {},
        "ui_version": "2.0",
        "service_version": "1.0",
        "call_recording_enabled": False,
        "call_recording_webhook_url": None,
        "crm_enabled": False,
        "crm_type": None,
        "crm_callback_url": None,
        "crm_fallback_url": None,
        "crm_attributes": None,
        "public_attributes": {},
        "plugin_service_enabled": False,
        "plugin_service_attributes": None,
        "integrations": [],
        "outbound_call_flows": None,
        "serverless_service_sids": [],
        "queue_stats_configuration": None,
        "notifications": None,
        "markdown": None,
        "url": f"{state.product_url('flex-api')}/v1/Configuration",
        "flex_insights_hr": None,
        "flex_insights_drilldown": False,
        "flex_url": None,
        "channel_configs": [],
        "debugger_integration": None,
        "flex_ui_status_report": None,
        "agent_conv_end_methods": None,
        "citrix_voice_vdi": None,
        "offline_config": None,
    }
