"""checkov on template.yaml: every check passes or is suppressed on its resource, with a reason.

A finding is fixed in template.yaml or suppressed where it is, in the resource's ``Metadata``::

    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_117
            comment: No VPC; it calls only public APIs (...) and reaches no private resource.

checkov pins its own dependencies exactly (boto3, networkx, packaging...), against both the dev
venv's and the SAM CLI's, so it lives in a virtual environment of its own. The CLI is found from
the ``CHECKOV`` environment variable, else ``.venv-checkov/bin/checkov``, else ``checkov`` on PATH.
It runs offline: no Prisma Cloud / Bridgecrew API key, no download of guidelines, no version check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# The version these findings were reviewed with (a newer one may add checks).
CHECKOV_REQUIREMENT = "checkov==3.3.30"
CHECKOV_VENV = ROOT / ".venv-checkov"
# Variables that would make checkov talk to Prisma Cloud / Bridgecrew.
_PLATFORM_VARIABLES = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL", "CKV_API_KEY")


@pytest.fixture(scope="module")
def checkov_cli() -> str:
    configured = os.environ.get("CHECKOV")
    candidates = [configured] if configured else [str(CHECKOV_VENV / "bin" / "checkov"), "checkov"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        f"checkov not found ({'CHECKOV=' + configured if configured else '.venv-checkov or PATH'}). "
        f"Install it with `python3.13 -m venv .venv-checkov && .venv-checkov/bin/pip install "
        f"'{CHECKOV_REQUIREMENT}'`, or point CHECKOV at a checkov executable."
    )


@pytest.fixture(scope="module")
def report(checkov_cli: str) -> dict[str, Any]:
    env = {name: value for name, value in os.environ.items() if name not in _PLATFORM_VARIABLES}
    env.update(
        {
            "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no PyPI version check
            "BC_SKIP_MAPPING": "TRUE",  # no download of the check-id mapping
            "LOG_LEVEL": "WARNING",  # checkov's own logging
        }
    )
    result = subprocess.run(
        [
            checkov_cli,
            "--file",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--compact",
            "--output",
            "json",
            "--skip-download",  # no guidelines, severities or suppressions from the platform
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: everything passed or was skipped; 1: failed checks (listed by the test below).
    assert result.returncode in (0, 1), f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"checkov did not print JSON ({error}):\n{result.stdout}\n{result.stderr}")
    # One framework prints one report; several would print a list.
    reports = parsed if isinstance(parsed, list) else [parsed]
    (found,) = [r for r in reports if r.get("check_type") == "cloudformation"]
    assert isinstance(found, dict)
    return found


def _describe(check: dict[str, Any]) -> str:
    first, last = check.get("file_line_range") or ["?", "?"]
    where = f"template.yaml:{first}-{last}"
    return f"{check['check_id']} {check['resource']} ({where}): {check['check_name']}"


def test_checkov_parses_every_resource(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, report["results"].get("parsing_errors")
    assert summary["resource_count"] > 0, summary


def test_every_checkov_check_passes_or_is_suppressed_on_its_resource(report: dict[str, Any]) -> None:
    failed = report["results"].get("failed_checks", [])
    assert not failed, (
        f"checkov {report['summary']['checkov_version']}: {len(failed)} failed check(s). Fix each in "
        "template.yaml, or suppress it on the resource (Metadata: checkov: skip: - id: ... comment: "
        "<the reason>):\n" + "\n".join(_describe(check) for check in failed)
    )


def test_every_suppression_gives_its_reason(report: dict[str, Any]) -> None:
    skipped = report["results"].get("skipped_checks", [])
    unexplained = [
        _describe(check)
        for check in skipped
        # checkov's stand-in when a skip has no `comment`.
        if str(check["check_result"].get("suppress_comment") or "").strip() in ("", "No comment provided")
    ]
    assert not unexplained, "suppressed without a reason:\n" + "\n".join(unexplained)


def test_public_twilio_functions_pass_the_concurrency_check_rather_than_skip_it(
    report: dict[str, Any],
) -> None:
    passed = {(c["check_id"], c["resource"]) for c in report["results"].get("passed_checks", [])}
    for function in ("ConversationEventsFunction", "ChatbotFunction", "AnnouncementsWebhookFunction"):
        assert ("CKV_AWS_115", f"AWS::Serverless::Function.{function}") in passed, function
