"""`python -m devstack up` itself: each port option moves its part, one stack per state directory
(a second `up` says so; one killed outright leaves nothing in the way), a port something else
holds is named, and the terminal shows a line per request and per job while the functions' JSON
logs and EMF metrics go to files. Runs the real command as a subprocess."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import requests

from devstack.__main__ import PORT_OPTIONS, _banner, main
from devstack.discord_emulator.control import EmulatorControl as DiscordControl
from devstack.sample_feeds import SampleFeedsControl
from devstack.stack import LocalStack, PortInUse, StackPorts
from devstack.twilio_emulator import EmulatorControl as TwilioControl
from tests.e2e.test_member_cli import ROOT, DevStack, devstack_up, run_devstack

LOCALHOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the system's pick, released for the stack to take)."""
    listeners = [socket.create_server((LOCALHOST, 0)) for _ in range(count)]
    ports = [int(listener.getsockname()[1]) for listener in listeners]
    for listener in listeners:
        listener.close()
    return ports


def port_arguments(ports: dict[str, int]) -> list[str]:
    """``--gateway-port N ...`` for every part, from ``{StackPorts field: port}``."""
    return [arg for option, part, *_ in PORT_OPTIONS for arg in (option, str(ports[part]))]


def stack_state(state_dir: Path) -> dict[str, object]:
    state: dict[str, object] = json.loads((state_dir / "stack.json").read_text())
    return state


@dataclass
class Running:
    stack: DevStack
    state_dir: Path
    ports: dict[str, int]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One stack with every part on a port of the test's choosing (none of the defaults)."""
    state_dir = tmp_path_factory.mktemp("devstack-up")
    parts = [part for _, part, *_ in PORT_OPTIONS]
    ports = dict(zip(parts, free_ports(len(parts)), strict=True))
    with devstack_up(state_dir, port_arguments(ports)) as stack:
        stack.wait_for((state_dir / "stack.json").exists, "the stack did not start")
        yield Running(stack, state_dir, ports)


def test_each_port_option_moves_its_part_and_stack_json_says_where(running: Running) -> None:
    ports, state = running.ports, stack_state(running.state_dir)
    assert state["gateway"] == f"http://{LOCALHOST}:{ports['gateway']}"
    assert state["discord"] == f"http://{LOCALHOST}:{ports['discord']}"
    assert state["twilio"] == f"http://{LOCALHOST}:{ports['twilio']}"
    assert state["sample_feeds"] == f"http://{LOCALHOST}:{ports['sample_feeds']}"
    assert state["aws_endpoint_url"] == f"http://{LOCALHOST}:{ports['moto']}"
    assert state["console"] == f"http://{LOCALHOST}:{ports['console']}/"
    assert state["pid"] == running.stack.process.pid

    # Each part answers on its port, as itself.
    gateway = run_devstack(running.state_dir, "clock", "tick")  # POST {gateway}/_devstack/clock
    assert gateway.returncode == 0, gateway.stderr
    assert gateway.stdout.startswith("clock: ")
    assert isinstance(DiscordControl(f"http://{LOCALHOST}:{ports['discord']}").messages("general"), list)
    assert TwilioControl(f"http://{LOCALHOST}:{ports['twilio']}").tasks() == []
    assert SampleFeedsControl(f"http://{LOCALHOST}:{ports['sample_feeds']}").now() > 0
    console = requests.get(f"http://{LOCALHOST}:{ports['console']}/", timeout=10)
    assert "Flexcord local console" in console.text
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://{LOCALHOST}:{ports['moto']}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    assert state["job_queue_url"] in sqs.list_queues()["QueueUrls"]


def test_the_banner_says_the_support_chat_path(running: Running) -> None:
    assert "support chat path: direct (Flex Interactions API)" in running.stack.output()


def test_a_second_up_says_the_stack_runs_and_exits(running: Running) -> None:
    # Default ports: it is stack.json, not a port clash, that tells it.
    second = run_devstack(running.state_dir, "up")
    gateway = f"http://{LOCALHOST}:{running.ports['gateway']}"
    assert second.returncode == 1, second.stdout + second.stderr
    assert second.stderr.strip() == (
        f"the local stack is already running (gateway {gateway}, pid {running.stack.process.pid}); "
        "stop it with Ctrl-C in its terminal"
    )
    assert running.stack.process.poll() is None
    assert stack_state(running.state_dir)["pid"] == running.stack.process.pid


def test_the_terminal_has_a_line_per_request_and_job_and_the_json_goes_to_files(running: Running) -> None:
    mycases = run_devstack(running.state_dir, "member", "alice", "mycases")
    assert mycases.returncode == 0, mycases.stderr
    job_line = re.compile(r"^\d\d:\d\d:\d\d job case\.list ok \d+ ms$", re.MULTILINE)
    running.stack.wait_for(lambda: job_line.search(running.stack.output()) is not None, "no job line")
    metrics_file = running.state_dir / "logs" / "metrics.jsonl"

    def job_metrics() -> list[dict[str, object]]:
        documents = [json.loads(line) for line in metrics_file.read_text().splitlines()]
        return [document for document in documents if "JobsCompleted" in document]

    running.stack.wait_for(lambda: bool(job_metrics()), "no EMF document in metrics.jsonl")

    output = running.stack.output()
    request = r"^\d\d:\d\d:\d\d POST /discord/interactions 200 \d+ ms \(InteractionsFunction\)$"
    assert re.search(request, output, re.MULTILINE), output
    assert '"_aws"' not in output
    assert '"level":' not in output  # the functions' JSON log lines
    assert all("_aws" in document for document in job_metrics())
    functions_log = [json.loads(line) for line in (running.state_dir / "logs" / "functions.jsonl").open()]
    assert any(record.get("message") == "commands registered" for record in functions_log)


def test_up_after_a_killed_stack_starts_and_replaces_its_stack_json(tmp_path: Path) -> None:
    parts = [part for _, part, *_ in PORT_OPTIONS]
    arguments = port_arguments(dict(zip(parts, free_ports(len(parts)), strict=True)))
    with devstack_up(tmp_path, arguments) as first:
        first.wait_for((tmp_path / "stack.json").exists, "the first stack did not start")
        first.process.kill()  # SIGKILL: no clean-up at all
        first.process.wait()
    assert stack_state(tmp_path)["pid"] == first.process.pid  # left behind

    # The same ports again: nothing of the killed stack is in the way.
    with devstack_up(tmp_path, arguments) as second:
        second.wait_for(
            lambda: (
                (tmp_path / "stack.json").exists() and stack_state(tmp_path).get("pid") == second.process.pid
            ),
            "the second stack did not replace stack.json",
        )
        mycases = run_devstack(tmp_path, "member", "alice", "mycases")
        assert mycases.returncode == 0, mycases.stderr
        assert "You haven't opened any cases yet" in mycases.stdout


@pytest.mark.parametrize(("option", "part"), [("--moto-port", "moto"), ("--gateway-port", "gateway")])
def test_up_names_a_port_something_else_holds(tmp_path: Path, option: str, part: str) -> None:
    parts = [name for _, name, *_ in PORT_OPTIONS]
    ports = dict(zip(parts, free_ports(len(parts)), strict=True))
    with socket.create_server((LOCALHOST, ports[part])):
        result = run_devstack(tmp_path, "up", *port_arguments(ports))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"port {ports[part]} ({part}) is already in use by another program: stop it, "
        f"or choose another port with {option}"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "stack.json").exists()


def test_a_port_taken_while_the_stack_starts_is_named_not_waited_on() -> None:
    """The check before starting can lose a race; the start itself reports the port (moto's
    server used to wait forever for a thread that had died on it)."""
    with socket.create_server((LOCALHOST, 0)) as taken:
        port = int(taken.getsockname()[1])
        stack = LocalStack(ports=StackPorts(moto=port))
        outcome: list[BaseException] = []

        def start() -> None:
            try:
                stack.start()
            except BaseException as error:
                outcome.append(error)

        starting = threading.Thread(target=start, daemon=True)
        starting.start()
        starting.join(timeout=60)  # a bound against a hang, not a timing assertion
        assert not starting.is_alive(), "LocalStack.start hung on a taken port"
    stack.stop()
    assert len(outcome) == 1
    assert isinstance(outcome[0], PortInUse)
    assert (outcome[0].part, outcome[0].port) == ("moto", port)


def test_up_help_explains_each_option_and_the_readme_gives_its_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per option
    with pytest.raises(SystemExit) as exited:
        main(["up", "--help"])
    assert exited.value.code == 0
    lines = {
        line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  --")
    }
    for option, _, default, what in PORT_OPTIONS:
        assert option in lines
        assert what in lines[option]
        assert lines[option].endswith(f"(default: {default})")
    assert "Studio" in lines["--studio"]
    assert "functions.jsonl" in lines["--verbose"]

    readme = " ".join((ROOT / "README.md").read_text().split())
    named = {"gateway": "gateway", "discord": "Discord", "moto": "moto", "twilio": "Twilio"}
    named |= {"sample_feeds": "sample feeds", "console": "console"}
    sentence = ", ".join(f"{named[part]} {default}" for _, part, default, _ in PORT_OPTIONS)
    assert f"Ports: {sentence}," in readme


def test_the_banner_puts_the_console_first_and_says_which_path_runs() -> None:
    description = {"gateway": "http://127.0.0.1:8787", "console": "http://127.0.0.1:8787/console"}
    lines = _banner(description, "direct (Flex Interactions API)", Path("/s/logs"), False).splitlines()
    assert lines[:3] == [
        "Flexcord local stack is running:",
        "  console: http://127.0.0.1:8787/console",
        "  gateway  http://127.0.0.1:8787",
    ]
    assert "support chat path: direct (Flex Interactions API)" in lines
    no_console = _banner({"gateway": "g"}, "x", Path("/s/logs"), False)
    assert "console" not in no_console

    assert LocalStack().support_chat_path() == "direct (Flex Interactions API)"
    studio = LocalStack(studio=True)
    studio.studio_setup = SimpleNamespace(flow_sid="FW0123")
    assert studio.support_chat_path() == "Studio (flow FW0123 uploaded by scripts/setup_twilio.py)"
