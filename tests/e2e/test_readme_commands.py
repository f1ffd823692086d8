"""Every command in README.md works as written (issue: "Every README command works as written on a
fresh clone (checked by a test that runs them)").

The commands are read from the README, not copied here: its shell blocks (continuation lines
joined, comments split off) and the commands quoted inline (`make ...`, `sam ...`,
`python -m devstack ...`). A command this test does not know how to check fails it, so a line
added to the README is checked from the day it is added.

- Run, in README order, against the stack `make local` starts (its recipe, `python -m devstack
  up`, run here on free ports): every `python -m devstack` command of the shell blocks (the "Try
  it" walk-through and the /setup one). Placeholders are filled as the README explains them:
  `<token>` (or `TOKEN`) is the token the last reply printed, `WT...` the task SID
  `agent tasks` printed, and `<name>` inside an argument (`announce:post:<id>`) what an earlier
  command printed in that place (a button's custom_id). A line whose comment says "at the
  prompts" runs at a terminal, its form answered; a line whose comment says "refused" must be
  refused: by Discord or Flex (non-zero, one line on stderr) or by the bot (a private answer with
  no embed and no buttons). No command may print a traceback. The curl block of the
  announcements webhook runs against the local stack's webhook, with its secret.
- Recognised without running (they need AWS, Docker, or would run the suite inside itself):
  `make` targets (`make -n`), `sam` commands (their options in `sam ... --help`, their functions
  in template.yaml, their files in the repository), `scripts/*.py` (`--help`), `aws
  secretsmanager create-secret` (the names are the template's defaults), and every `python -m
  devstack` command quoted inline (its options in `--help`).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.template import load_template
from tests.e2e.test_member_cli import devstack_up

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
COMMAND_TIMEOUT = 120.0  # a bound against a wedged command, not a timing assertion
ASYNC_TIMEOUT = 30.0  # the worker is asynchronous: how long a printed value may take to appear
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
TOKEN_PRINTED = re.compile(r"press: python -m devstack click \S+ (?!--message)(\S+) ")
TASK_LINE = re.compile(r"^(WT[0-9a-f]{32})\s+(\S+)", re.MULTILINE)
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
INLINE_COMMAND = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:make|sam|(?:\.venv/bin/)?python)\s")


@dataclass(frozen=True)
class Command:
    text: str  # the command, continuation lines joined, without its comment
    comment: str
    line: int  # where it starts in README.md
    block: int  # which shell block (-1: quoted inline)

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def program(self) -> list[str]:
        """The words after any leading ``NAME=value`` assignments."""
        words = self.argv
        while words and ENV_ASSIGNMENT.match(words[0]):
            words = words[1:]
        return words

    def is_devstack(self) -> bool:
        words = self.program
        return (
            len(words) >= 3
            and words[0] in {"python", ".venv/bin/python"}
            and words[1:3] == ["-m", "devstack"]
        )

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def split_comment(line: str) -> tuple[str, str]:
    """The command and its comment: the first ``#`` outside quotes that starts a word."""
    quote = ""
    for index, character in enumerate(line):
        if quote:
            if character == quote:
                quote = ""
        elif character in "'\"":
            quote = character
        elif character == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def shell_blocks(text: str) -> list[list[Command]]:
    blocks: list[list[Command]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = lines[index].strip()
        index += 1
        if not fence.startswith("```"):
            continue
        language, body = fence[3:].strip(), []
        while index < len(lines) and not lines[index].strip().startswith("```"):
            body.append((index + 1, lines[index].strip()))
            index += 1
        index += 1  # the closing fence
        if language not in SHELL_LANGUAGES:
            continue
        commands: list[Command] = []
        pending, comments, start = "", [], 0
        for number, raw in body:
            command, comment = split_comment(raw)
            if not pending:
                start = number
            if comment:
                comments.append(comment)
            if command.endswith("\\"):
                pending += command[:-1].rstrip() + " "
                continue
            pending += command
            if pending.strip():
                commands.append(Command(pending.strip(), " ".join(comments), start, len(blocks)))
            pending, comments = "", []
        blocks.append(commands)
    return blocks


def inline_commands(text: str) -> list[Command]:
    """Commands quoted inline in the prose (outside the fenced blocks)."""
    found, in_block = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            continue
        for span in INLINE_CODE.findall(line):
            if INLINE_COMMAND.match(span):
                found.append(Command(span.strip(), "", number, -1))
    return found


def readme_commands() -> list[Command]:
    return [command for block in shell_blocks(README.read_text()) for command in block]


# -- recognising (no stack) -------------------------------------------------------------------------


@functools.cache
def _help(*argv: str) -> str:
    completed = subprocess.run(
        list(argv), cwd=ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    assert completed.returncode == 0, f"{' '.join(argv)}: {completed.stderr}"
    return completed.stdout


def _long_options(words: list[str]) -> list[str]:
    return [word.split("=", 1)[0] for word in words if word.startswith("--")]


def _leading_words(words: list[str]) -> list[str]:
    """Subcommand words: lower-case words before the first option or other argument."""
    leading = []
    for word in words:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        leading.append(word)
    return leading


@functools.cache
def _template() -> dict[str, Any]:
    return load_template()


def _make_dry_run(command: Command) -> str:
    completed = subprocess.run(
        ["make", "-n", *command.program[1:]],
        cwd=ROOT,
        env={**os.environ, **_assignments(command)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, f"{command}: make does not know it: {completed.stderr}"
    arguments = dict(word.split("=", 1) for word in command.program[1:] if "=" in word)
    if "ARGS" in arguments and "setup-twilio" in command.program:
        script_help = _help(sys.executable, "scripts/setup_twilio.py", "--help")
        for option in _long_options(shlex.split(arguments["ARGS"])):
            assert option in script_help, f"{command}: setup_twilio.py has no {option}"
    return completed.stdout


def _assignments(command: Command) -> dict[str, str]:
    words = command.argv
    values = {}
    while words and ENV_ASSIGNMENT.match(words[0]):
        name, value = words[0].split("=", 1)
        values[name] = value
        words = words[1:]
    return values


def _check_sam(command: Command, *, created: set[str]) -> None:
    words = command.program
    # Your own sam, or the one `make build` installs in .venv-sam.
    assert words[0] in {"sam", ".venv-sam/bin/sam"}, f"{command}: which sam is that?"
    if words[0] != "sam":
        assert "SAM_VENV := .venv-sam" in (ROOT / "Makefile").read_text()
    subcommand = _leading_words(words[1:])
    assert subcommand, f"{command}: no sam subcommand"
    if SAM.exists():
        options = _help(str(SAM), *subcommand, "--help")
        for option in _long_options(words[1:]):
            assert option in options, f"{command}: `sam {' '.join(subcommand)}` has no {option}"
    rest = words[1 + len(subcommand) :]
    resources = _template()["Resources"]
    assert isinstance(resources, dict)
    if subcommand == ["local", "invoke"] and rest and not rest[0].startswith("-"):
        assert rest[0] in resources, f"{command}: no {rest[0]} in template.yaml"
    for flag, value in itertools.pairwise(rest):
        if flag in {"-e", "--event", "--env-vars"}:
            assert value in created or (ROOT / value).is_file(), f"{command}: no file {value}"


def _check_python_script(command: Command) -> None:
    words = command.program
    script = words[1]
    assert (ROOT / script).is_file(), f"{command}: no {script}"
    subcommand = _leading_words(words[2:])
    options = _help(sys.executable, script, *subcommand, "--help")
    for option in _long_options(words[2:]):
        assert option in options, f"{command}: {script} has no {option}"


def _check_devstack_parses(command: Command) -> None:
    words = command.program[3:]
    subcommand = words[:1]
    options = _help(sys.executable, "-m", "devstack", *subcommand, "--help")
    for option in _long_options(words):
        assert option in options, f"{command}: `python -m devstack {words[0]}` has no {option}"


def _check_aws(command: Command) -> None:
    words = command.program
    assert words[1:3] == ["secretsmanager", "create-secret"], f"{command}: not checked by this test"
    name = words[words.index("--name") + 1]
    parameters = _template()["Parameters"]
    assert isinstance(parameters, dict)
    defaults = {spec.get("Default") for key, spec in parameters.items() if key.endswith("SecretName")}
    assert name in defaults, f"{command}: {name} is not a secret name the template uses"


def _check_python_module(command: Command) -> None:
    words = command.program
    module = words[2]
    assert module in {"flexcord.kb", "devstack"}, f"{command}: not checked by this test"
    if module == "devstack":
        _check_devstack_parses(command)
        return
    completed = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "layers" / "flexcord")},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, f"{command}: {completed.stderr}"


def recognise(command: Command, *, created: set[str]) -> None:
    """Fail unless ``command`` is one this test checks, and passes that check."""
    words = command.program
    assert words, f"{command}: an assignment outside a script"
    redirect = command.text.rsplit(">", 1)
    if len(redirect) == 2 and redirect[1].strip() and " " not in redirect[1].strip():
        created.add(redirect[1].strip())
    program = words[0]
    if program == "make":
        _make_dry_run(command)
    elif program.endswith("sam"):
        _check_sam(command, created=created)
    elif program in {"python", ".venv/bin/python"} and words[1:2] == ["-m"]:
        _check_python_module(command)
    elif program in {"python", ".venv/bin/python"} and words[1].startswith("scripts/"):
        _check_python_script(command)
    elif program == "aws":
        _check_aws(command)
    else:
        raise AssertionError(f"{command}: this test does not know how to check `{program}`; teach it")


def test_the_readme_has_the_commands_this_test_runs() -> None:
    """The parser finds what the README shows (so the tests below cannot pass by finding nothing)."""
    commands = readme_commands()
    devstack = [c for c in commands if c.is_devstack()]
    assert len(devstack) >= 30
    joined = next(c for c in devstack if "--screenshot" in c.text)
    assert "--field expected_actual=" in joined.text  # continuation lines are joined
    assert "docs/sample-screenshot.png" in joined.argv
    assert any("refused" in c.comment for c in devstack)
    assert any("at the prompts" in c.comment for c in devstack)
    assert any(c.argv[:2] == ["make", "local"] for c in commands)
    assert any(c.program[:1] == ["curl"] for c in commands)


def test_the_sample_screenshot_is_a_real_png() -> None:
    data = (ROOT / "docs" / "sample-screenshot.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    assert width >= 100
    assert height >= 100
    assert data.endswith(b"IEND\xaeB`\x82")
    assert len(data) < 64 * 1024


def test_every_readme_command_is_recognised() -> None:
    created: set[str] = set()
    blocks = shell_blocks(README.read_text())
    for block in blocks:
        if any(command.program[:1] == ["curl"] for command in block):
            continue  # a shell script: the webhook test runs it
        for command in block:
            if command.is_devstack():
                _check_devstack_parses(command)
            else:
                recognise(command, created=created)
    for command in inline_commands(README.read_text()):
        recognise(command, created=created)
    local = next(c for block in blocks for c in block if c.argv[:2] == ["make", "local"])
    recipe = _make_dry_run(local)
    assert re.search(r"python -m devstack up\s*$", recipe, re.MULTILINE), recipe


# -- running (against the stack `make local` starts) -------------------------------------------------


def _environment(state_dir: Path, argv: list[str]) -> dict[str, str]:
    """The command's own ``NAME=value`` prefix, and the stack's state directory."""
    assignments = dict(word.split("=", 1) for word in _prefix(argv))
    # Block-buffered output, as at a terminal-less run: a prompt is the only unfinished line.
    return {**os.environ, **assignments, "FLEXCORD_DEVSTACK_DIR": str(state_dir), "PYTHONUNBUFFERED": ""}


def _prefix(argv: list[str]) -> list[str]:
    count = 0
    while count < len(argv) and ENV_ASSIGNMENT.match(argv[count]):
        count += 1
    return argv[:count]


def _program_path(argv: list[str]) -> list[str]:
    argv = argv[len(_prefix(argv)) :]
    return [str(ROOT / argv[0]) if argv[0].startswith(".venv/") else sys.executable, *argv[1:]]


def run_plain(argv: list[str], state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _program_path(argv),
        cwd=ROOT,
        env=_environment(state_dir, argv),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def answer_prompt(prompt: str) -> str:
    """What a person types at a form's prompt: the sample screenshot for the file, else words."""
    if "(path to a file" in prompt:
        return "docs/sample-screenshot.png"
    label = prompt.rstrip().rstrip(":").strip()
    return f"{label} (typed at the prompt)"


def run_at_a_terminal(
    argv: list[str], state_dir: Path, answer: Callable[[str], str] = answer_prompt
) -> subprocess.CompletedProcess[str]:
    """The command with a terminal for its input, answering each prompt as it appears."""
    leader, follower = pty.openpty()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            _program_path(argv),
            cwd=ROOT,
            env=_environment(state_dir, argv),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        os.close(follower)
        assert process.stdout is not None
        output = b""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        try:
            while True:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{argv} did not finish:\n{output.decode(errors='replace')}"
                ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
                if not ready:
                    continue
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
                waiting = output.decode(errors="replace").rsplit("\n", 1)[-1]
                if waiting.endswith(": "):  # input() printed its prompt and waits
                    os.write(leader, (answer(waiting) + "\n").encode())
                    output += b"\n"
            process.wait(timeout=COMMAND_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(leader)
        errors.seek(0)
        return subprocess.CompletedProcess(
            argv, process.returncode, output.decode(errors="replace"), errors.read().decode(errors="replace")
        )


class Walkthrough:
    """Runs README commands in order, filling placeholders from what earlier commands printed."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.outputs: list[tuple[list[str], str]] = []

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        argv = [self._fill(word, command) for word in command.argv]
        at_a_terminal = "at the prompts" in command.comment
        completed = (
            run_at_a_terminal(argv, self.state_dir) if at_a_terminal else run_plain(argv, self.state_dir)
        )
        self.outputs.append((argv, completed.stdout))
        return completed

    def _fill(self, word: str, command: Command) -> str:
        if word in {"<token>", "TOKEN"}:
            return self._latest(TOKEN_PRINTED, f"{command}: no earlier reply printed a token")
        if word == "WT...":
            return self._task_sid(command)
        if re.search(r"<[a-z_]+>", word):
            pattern = re.compile(
                "".join(
                    r"([A-Za-z0-9_.-]+)" if re.fullmatch(r"<[a-z_]+>", part) else re.escape(part)
                    for part in re.split(r"(<[a-z_]+>)", word)
                )
                + r"(?![A-Za-z0-9_.:-])"
            )
            for _, output in reversed(self.outputs):
                found = pattern.search(output)
                if found:
                    return found.group(0)
            raise AssertionError(f"{command}: no earlier command printed {word}")
        return word

    def _latest(self, pattern: re.Pattern[str], failure: str) -> str:
        for _, output in reversed(self.outputs):
            found = pattern.findall(output)
            if found:
                return str(found[-1])
        raise AssertionError(failure)

    def _task_sid(self, command: Command) -> str:
        """The task `agent tasks` printed; the hand-off is asynchronous, so as a person would, run
        `agent tasks` again until it shows one."""
        listing = next(((a, o) for a, o in reversed(self.outputs) if a[-2:] == ["agent", "tasks"]), None)
        assert listing is not None, f"{command}: `agent tasks` did not run before it"
        argv, output = listing
        deadline = time.monotonic() + ASYNC_TIMEOUT
        while not TASK_LINE.search(output):
            assert time.monotonic() < deadline, f"{command}: `agent tasks` shows no task:\n{output}"
            time.sleep(0.5)
            output = run_plain(argv, self.state_dir).stdout
        tasks: list[tuple[str, str]] = TASK_LINE.findall(output)
        open_tasks = [sid for sid, status in tasks if status not in {"completed", "canceled", "wrapping"}]
        return (open_tasks or [sid for sid, _ in tasks])[0]


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stack `make local` runs (its recipe: `python -m devstack up`), on free ports."""
    state_dir = tmp_path_factory.mktemp("readme-stack")
    with devstack_up(state_dir) as stack:
        stack.wait_for((state_dir / "stack.json").exists, "the stack did not start")
        yield state_dir


def _assert_refused(command: Command, completed: subprocess.CompletedProcess[str]) -> None:
    if completed.returncode != 0:  # Discord or Flex refused it
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1, f"{command}: refused in more than one line:\n{completed.stderr}"
        return
    # The bot refused it: a private answer, without the case embed or buttons it would otherwise show.
    assert "(only you can see this)" in completed.stdout, f"{command}: not refused:\n{completed.stdout}"
    assert "┃" not in completed.stdout, f"{command}: not refused:\n{completed.stdout}"
    assert "(buttons:" not in completed.stdout, f"{command}: not refused:\n{completed.stdout}"


def test_the_readme_commands_run_as_written(stack_dir: Path) -> None:
    walkthrough = Walkthrough(stack_dir)
    ran = 0
    for command in readme_commands():
        if not command.is_devstack():
            continue
        completed = walkthrough.run(command)
        ran += 1
        report = f"{command}\nexit {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
        assert "Traceback" not in completed.stderr + completed.stdout, report
        if "refused" in command.comment:
            _assert_refused(command, completed)
        else:
            assert completed.returncode == 0, report
    assert ran >= 30

    # What the walk-through promises, seen from its own commands' output.
    printed = "\n".join(output for _, output in walkthrough.outputs)
    assert "🐞 Bug report #1: Title (typed at the prompt)" in printed  # the form at the prompts
    assert "Scheduled for" in printed
    channel = [".venv/bin/python", "-m", "devstack", "channel", "announcements"]
    deadline = time.monotonic() + ASYNC_TIMEOUT  # the scheduler's post is asynchronous
    while "┃ Maintenance tonight" not in (shown := run_plain(channel, stack_dir).stdout):
        assert time.monotonic() < deadline, f"the scheduled announcement was not posted:\n{shown}"
        time.sleep(0.5)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
def test_the_webhook_example_script_is_answered_by_the_local_stack(stack_dir: Path) -> None:
    from devstack.stack import ANNOUNCEMENTS_WEBHOOK_SECRET

    [script] = [
        block for block in shell_blocks(README.read_text()) if any(c.program[:1] == ["curl"] for c in block)
    ]
    url = json.loads((stack_dir / "stack.json").read_text())["announcements_webhook_url"]
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(command.text for command in script)],
        cwd=ROOT,
        env={**os.environ, "URL": url, "SECRET": ANNOUNCEMENTS_WEBHOOK_SECRET},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "announcement_id" in json.loads(completed.stdout), completed.stdout
