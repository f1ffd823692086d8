"""The SAM application: template lint, the makefile build, and least-privilege structure.

Runs the real AWS SAM CLI, offline (no Docker, no AWS account). The CLI is found from the
``SAM_CLI`` environment variable, else ``sam`` on PATH; the project installs it into its own
virtual environment (``requirements-sam.txt``), e.g. ``SAM_CLI=.venv-sam/bin/sam pytest ...``.

``sam build`` runs the makefiles with ``python3.13`` from PATH (the runtime's version, so the
shipped ``.pyc`` files match it): the subprocesses get the directory of the interpreter running
these tests prepended to PATH, so run them from the project's Python 3.13 venv.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode_str
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LAYER_SOURCE = ROOT / "layers" / "flexcord" / "flexcord"
REGION = "us-east-1"

FUNCTIONS = {
    "InteractionsFunction": "interactions",
    "WorkerFunction": "worker",
    "CommandsFunction": "commands",
    "AnnouncementsWebhookFunction": "announcements_webhook",
    "SchedulerFunction": "scheduler",
}
PYC_TAG = "cpython-313"
EM_AARCH64 = 183  # ELF e_machine of arm64

#: The functions whose code imports twilio, and so carry TwilioLayer; no other function does.
TWILIO_FUNCTIONS = {"WorkerFunction", "ConversationEventsFunction", "ChatbotFunction"}
#: What TwilioLayer ships (import names: the SDK and its aiohttp tree) and FlexcordLayer must not.
TWILIO_TREE = (
    "twilio", "jwt", "aiohttp", "aiohttp_retry", "aiohappyeyeballs", "aiosignal", "attr", "attrs",
    "frozenlist", "multidict", "propcache", "yarl",
)  # fmt: skip
#: Where Lambda's python3.13 on arm64 runs, for the layers' requirement markers.
LAMBDA_MARKERS = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}


# --------------------------------------------------------------------------- helpers


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    # `sam build` needs python3.13 on PATH; the test interpreter's venv provides it.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    return env


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=ROOT, env=_subprocess_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.fixture(scope="module")
def sam_cli() -> str:
    configured = os.environ.get("SAM_CLI")
    found = shutil.which(configured or "sam", path=_subprocess_env()["PATH"])
    if not found:
        pytest.fail(
            f"AWS SAM CLI not found ({'SAM_CLI=' + configured if configured else '`sam` on PATH'}). "
            "Install it with `python3.13 -m venv .venv-sam && "
            ".venv-sam/bin/pip install -r requirements-sam.txt` and run with SAM_CLI=.venv-sam/bin/sam."
        )
    return found


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, matches = decode_str(TEMPLATE.read_text())
    assert not matches, [str(m) for m in matches]
    assert isinstance(parsed, dict)
    return dict(parsed)


@pytest.fixture(scope="module")
def build_dir(sam_cli: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sam")
    result = _run(
        [
            sam_cli,
            "build",
            "--template-file",
            str(TEMPLATE),
            "--build-dir",
            str(base / "build"),
            "--cache-dir",
            str(base / "cache"),
        ],
        timeout=600,
    )
    assert result.returncode == 0, _report(result)
    assert "Build Succeeded" in result.stdout, _report(result)
    return base / "build"


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return resources


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _referenced_names(node: Any) -> set[str]:
    """Logical ids and parameters a template fragment refers to (Ref, GetAtt, ${...} in Sub)."""
    names: set[str] = set()
    for item in _walk(node):
        if not isinstance(item, dict):
            continue
        if "Ref" in item:
            names.add(str(item["Ref"]))
        if "Fn::GetAtt" in item:
            target = item["Fn::GetAtt"]
            names.add(str(target[0] if isinstance(target, list) else target).split(".")[0])
        if "Fn::Sub" in item:
            text = item["Fn::Sub"] if isinstance(item["Fn::Sub"], str) else item["Fn::Sub"][0]
            for chunk in str(text).split("${")[1:]:
                name = chunk.split("}", 1)[0].split(".")[0]
                if not name.startswith(("AWS::", "!")):
                    names.add(name)
    return {name for name in names if not name.startswith("AWS::")}


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    policies = function["Properties"].get("Policies", [])
    statements: list[dict[str, Any]] = []
    for policy in policies:
        # Inline statements only: SAM policy templates and managed policies hide what they grant.
        assert isinstance(policy, dict), policy
        assert set(policy) == {"Statement"}, policy
        statements.extend(policy["Statement"])
    return statements


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


def _resources_by_service(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """For each IAM service prefix, the template names its statements' resources refer to."""
    result: dict[str, set[str]] = {}
    for statement in statements:
        action = statement["Action"]
        services = {a.split(":")[0] for a in ([action] if isinstance(action, str) else action)}
        refs = _referenced_names(statement["Resource"])
        for service in services:
            result.setdefault(service, set()).update(refs)
    return result


def _function_layers(template: dict[str, Any]) -> dict[str, list[str]]:
    """Each function's layers, in order: SAM prepends the Globals' list to the function's own
    (lists in Globals are additive; test_sam_translates_each_function_with_these_layers checks
    this against SAM's own translator)."""
    shared = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    return {
        logical_id: [layer["Ref"] for layer in [*shared, *resource["Properties"].get("Layers", [])]]
        for logical_id, resource in _resources(template).items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _distributions(folder: Path) -> dict[str, importlib.metadata.Distribution]:
    return {
        canonicalize_name(dist.metadata["Name"]): dist
        for dist in importlib.metadata.distributions(path=[str(folder)])
    }


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


def _assert_compiled(directory: Path) -> None:
    """Every module in ``directory`` has an unchecked-hash .pyc for Python 3.13 beside it."""
    sources = sorted(directory.rglob("*.py"))
    assert sources, directory
    missing: list[str] = []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{PYC_TAG}.pyc"
        if not pyc.is_file():
            missing.append(str(source.relative_to(directory)))
            continue
        # PEP 552 flags: bit 0 hash-based, bit 1 check_source. unchecked-hash = 0b01.
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc} is not an unchecked-hash pyc (flags {flags:#b})"
    assert not missing, f"no {PYC_TAG} .pyc for: {missing[:20]}"


# --------------------------------------------------------------------------- lint


@pytest.mark.slow
def test_sam_validate_lint_is_clean(sam_cli: str) -> None:
    result = _run(
        [sam_cli, "validate", "--lint", "--template-file", str(TEMPLATE), "--region", REGION], timeout=300
    )
    assert result.returncode == 0, _report(result)
    assert "is a valid SAM Template" in result.stdout, _report(result)
    output = result.stdout + result.stderr
    # cfn-lint findings are printed as `<rule id> <message>`, e.g. `W3005 ...` or `E3012 ...`.
    findings = [line for line in output.splitlines() if line[:1] in "EWI" and line[1:5].isdigit()]
    assert not findings, _report(result)


def test_cfn_lint_finds_nothing_even_informational() -> None:
    matches = lint(TEMPLATE.read_text(), config=ManualArgs(regions=[REGION], include_checks=["I"]))
    assert not matches, "\n".join(str(m) for m in matches)


# --------------------------------------------------------------------------- build


@pytest.mark.slow
def test_sam_build_ships_the_layer_precompiled_for_arm64(build_dir: Path) -> None:
    python = build_dir / "FlexcordLayer" / "python"
    assert (python / "flexcord" / "__init__.py").is_file()
    assert (python / "requests" / "__init__.py").is_file()
    assert (python / "nacl" / "__init__.py").is_file()
    assert (python / "aws_lambda_powertools").is_dir()
    # boto3 comes with the Lambda runtime: shipping it would only grow the layer.
    assert not (python / "boto3").exists()

    # Every flexcord module, and every other module in the layer, is compiled.
    for source in LAYER_SOURCE.rglob("*.py"):
        relative = source.relative_to(LAYER_SOURCE)
        pyc = python / "flexcord" / relative.parent / "__pycache__" / f"{source.stem}.{PYC_TAG}.pyc"
        assert pyc.is_file(), f"missing {pyc}"
    _assert_compiled(python)

    # The knowledge base's stemmer: Snowball's C implementation.
    assert list(python.glob("Stemmer*.so"))

    sodium = list((python / "nacl").glob("_sodium*.so"))
    assert sodium, "PyNaCl's _sodium extension is missing"
    for library in sodium:
        assert _elf_machine(library) == EM_AARCH64, f"{library.name} is not an aarch64 binary"
    for library in python.rglob("*.so"):
        assert _elf_machine(library) == EM_AARCH64, f"{library} is not an aarch64 binary"


@pytest.mark.slow
def test_sam_build_ships_the_knowledge_layer_with_the_model_and_no_downloaders(build_dir: Path) -> None:
    python = build_dir / "KnowledgeLayer" / "python"
    model = python / "flexcord_embedding_model"
    assert (model / "l2_supercat_256.safetensors").stat().st_size == 16_384_096
    assert (model / "l2_supercat_tokenizer_config.json").is_file()
    assert "MIT License" in (model / "LICENSE").read_text()
    assert (python / "numpy" / "__init__.py").is_file()
    assert (python / "tokenizers" / "__init__.py").is_file()
    # Installed without dependencies: nothing that could download at run time, and no wordllama.
    for absent in ("huggingface_hub", "hf_xet", "httpx", "requests", "wordllama"):
        assert not (python / absent).exists(), absent
    _assert_compiled(python)
    for library in python.rglob("*.so"):
        assert _elf_machine(library) == EM_AARCH64, f"{library} is not an aarch64 binary"


@pytest.mark.slow
def test_sam_build_ships_twilio_in_a_layer_of_its_own(build_dir: Path) -> None:
    flexcord = build_dir / "FlexcordLayer" / "python"
    python = build_dir / "TwilioLayer" / "python"
    for package in TWILIO_TREE:
        assert (python / package).is_dir(), f"TwilioLayer has no {package}"
        assert not (flexcord / package).exists(), f"FlexcordLayer still ships {package}"
    assert (python / "twilio" / "rest" / "__init__.py").is_file()
    assert (python / "twilio" / "request_validator.py").is_file()
    # Installed without dependencies: requests, and idna that yarl needs too, come from
    # FlexcordLayer; boto3 from the runtime.
    for absent in ("requests", "urllib3", "idna", "certifi", "charset_normalizer", "boto3", "bin"):
        assert not (python / absent).exists(), absent
    _assert_compiled(python)
    libraries = list(python.rglob("*.so"))
    assert libraries  # aiohttp, multidict, yarl... are compiled extensions
    for library in libraries:
        assert _elf_machine(library) == EM_AARCH64, f"{library} is not an aarch64 binary"

    # No package twice, and the two layers together (what a carrier's /opt/python holds) meet
    # every requirement of the twilio layer's packages at the versions they need.
    shipped, shared = _distributions(python), _distributions(flexcord)
    assert "twilio" in shipped
    assert not shipped.keys() & shared.keys()
    available = {**shared, **shipped}
    for name, distribution in shipped.items():
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(LAMBDA_MARKERS):
                continue
            found = available.get(canonicalize_name(requirement.name))
            assert found, f"{name} needs {requirement}, in neither layer"
            assert requirement.specifier.contains(found.version, prereleases=True), (
                f"{name} needs {requirement}; the layers have {found.version}"
            )


@pytest.mark.slow
def test_the_built_template_gives_the_twilio_layer_only_to_the_functions_that_import_twilio(
    build_dir: Path,
) -> None:
    built, matches = decode_str((build_dir / "template.yaml").read_text())
    assert not matches, [str(m) for m in matches]
    assert built["Resources"]["TwilioLayer"]["Properties"]["ContentUri"] == "TwilioLayer"
    layers = _function_layers(dict(built))
    assert "TwilioLayer" not in layers["InteractionsFunction"]
    assert {logical_id for logical_id, names in layers.items() if "TwilioLayer" in names} == TWILIO_FUNCTIONS
    assert all(names[0] == "FlexcordLayer" for names in layers.values())


@pytest.mark.slow
def test_sam_translates_each_function_with_these_layers(sam_cli: str, template: dict[str, Any]) -> None:
    """SAM's own translator (the SAM CLI's samtranslator, offline) gives every Lambda function
    the layers _function_layers reads from the template, in the same order."""
    first_line = Path(sam_cli).read_bytes().split(b"\n", 1)[0]
    if not first_line.startswith(b"#!"):
        pytest.skip(f"{sam_cli} is not a Python script: its translator cannot be run from here")
    translate = r"""
import json, re, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
# The translator wants deployed code locations; the layers are what is looked at.
text = re.sub(r"(CodeUri|ContentUri): \S+", r"\1: s3://bucket/key", open(sys.argv[1]).read())
class NoManagedPolicies:
    def load(self): return {}
resources = transform(yaml_parse(text), {}, NoManagedPolicies())["Resources"]
print(json.dumps({name: [layer["Ref"] for layer in resource["Properties"].get("Layers", [])]
                  for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Function"}))
"""
    result = _run([first_line[2:].decode().strip(), "-c", translate, str(TEMPLATE)], timeout=120)
    assert result.returncode == 0, _report(result)
    translated = json.loads(result.stdout.strip().splitlines()[-1])
    # A translated layer's logical id carries a hash of its content: FlexcordLayer1a2b3c4d5e.
    names = {
        name: [re.sub(r"[0-9a-f]{10}$", "", layer) for layer in layers] for name, layers in translated.items()
    }
    assert names == _function_layers(template)


@pytest.mark.slow
def test_the_knowledge_layer_can_carry_a_deployers_onnx_model_instead(tmp_path: Path) -> None:
    from tests.support.onnx_models import write_tiny_model

    model = write_tiny_model(tmp_path / "deployer-model", vocabulary=["raid", "refund"])
    build = [
        "make", "-s", "-C", str(ROOT / "layers" / "knowledge"), "build-KnowledgeLayer",
        f"PYTHON={sys.executable}",
    ]  # fmt: skip
    result = _run([*build, f"ARTIFACTS_DIR={tmp_path / 'layer'}", f"KB_ONNX_MODEL={model}"], timeout=600)
    assert result.returncode == 0, _report(result)
    python = tmp_path / "layer" / "python"
    assert (python / "flexcord_onnx_model" / "model.onnx").read_bytes() == (model / "model.onnx").read_bytes()
    assert not (python / "flexcord_embedding_model").exists()  # the static model stays out
    runtime = list((python / "onnxruntime" / "capi").glob("*.so"))
    assert runtime
    assert all(_elf_machine(library) == EM_AARCH64 for library in runtime)

    (model / "tokenizer.json").unlink()
    result = _run([*build, f"ARTIFACTS_DIR={tmp_path / 'broken'}", f"KB_ONNX_MODEL={model}"], timeout=600)
    assert result.returncode != 0
    assert f"KB_ONNX_MODEL={model} has no tokenizer.json" in result.stderr


@pytest.mark.slow
def test_every_function_with_its_layers_fits_lambdas_unzipped_limit(
    build_dir: Path, template: dict[str, Any]
) -> None:
    """Lambda's limit is 250 MB (not MiB) unzipped for a function's package and all its layers."""
    resources = _resources(template)

    def size(folder: Path) -> int:
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    layer_sizes = {
        name: size(build_dir / name)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    assert set(layer_sizes) == {"FlexcordLayer", "KnowledgeLayer", "TwilioLayer"}
    function_layers = _function_layers(template)
    assert len(function_layers) >= 7
    for logical_id, layers in function_layers.items():
        total = size(build_dir / logical_id) + sum(layer_sizes[name] for name in layers)
        assert total < 250_000_000, f"{logical_id}: {total / 1e6:.1f} MB with {layers}"


@pytest.mark.slow
@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_sam_build_ships_each_handler_precompiled(build_dir: Path, logical_id: str) -> None:
    artifact = build_dir / logical_id
    assert (artifact / "app.py").is_file()
    assert (artifact / "__pycache__" / f"app.{PYC_TAG}.pyc").is_file()
    assert not (artifact / "Makefile").exists()
    _assert_compiled(artifact)


# --------------------------------------------------------------------------- structure


def test_logical_ids_and_types(template: dict[str, Any]) -> None:
    expected = {
        "FlexcordTable": "AWS::DynamoDB::Table",
        "JobQueue": "AWS::SQS::Queue",
        "JobDeadLetterQueue": "AWS::SQS::Queue",
        "JobDeadLetterAlarm": "AWS::CloudWatch::Alarm",
        "HttpApi": "AWS::Serverless::HttpApi",
        "FlexcordLayer": "AWS::Serverless::LayerVersion",
        "KnowledgeLayer": "AWS::Serverless::LayerVersion",
        "TwilioLayer": "AWS::Serverless::LayerVersion",
        "InteractionsFunction": "AWS::Serverless::Function",
        "WorkerFunction": "AWS::Serverless::Function",
        "CommandsFunction": "AWS::Serverless::Function",
        "AnnouncementsWebhookFunction": "AWS::Serverless::Function",
        "SchedulerFunction": "AWS::Serverless::Function",
        "DiscordCommands": "Custom::DiscordCommands",
    }
    resources = _resources(template)
    assert {name: resources[name]["Type"] for name in expected if name in resources} == expected


def test_job_queue_is_fifo_with_redrive_to_a_fifo_dlq(template: dict[str, Any]) -> None:
    resources = _resources(template)
    queue = resources["JobQueue"]["Properties"]
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "JobMaxReceiveCount"}
    worker_timeout = resources["WorkerFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] == 6 * worker_timeout
    dlq = resources["JobDeadLetterQueue"]["Properties"]
    assert dlq["FifoQueue"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert template["Parameters"]["JobMaxReceiveCount"]["MinValue"] >= 2

    alarm = resources["JobDeadLetterAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["JobDeadLetterQueue", "QueueName"]}
    assert alarm["TreatMissingData"] == "notBreaching"


def test_table_has_ttl_pitr_and_its_two_indexes(template: dict[str, Any]) -> None:
    table = _resources(template)["FlexcordTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    indexes = {gsi["IndexName"]: gsi for gsi in props["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["gsi1", "gsi2"]
    for name, gsi in indexes.items():
        assert [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]] == [
            (f"{name}pk", "HASH"),
            (f"{name}sk", "RANGE"),
        ]
        assert gsi["Projection"]["ProjectionType"] == "ALL"


def test_functions_use_makefile_builds_and_the_layer(template: dict[str, Any]) -> None:
    resources = _resources(template)
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "FlexcordLayer"}]
    # Any other Tracing value makes SAM attach AWSXrayWriteOnlyAccess to every role.
    assert function_globals.get("Tracing", "Disabled") == "Disabled"
    for logical_id, folder in FUNCTIONS.items():
        function = resources[logical_id]
        assert function["Metadata"]["BuildMethod"] == "makefile"
        assert "Tracing" not in function["Properties"]
        assert function["Properties"]["CodeUri"] == f"functions/{folder}/"
        # The function's Makefile answers the target sam build asks for (the recipe is shared).
        dry_run = subprocess.run(
            ["make", "-n", "-f", str(ROOT / "functions" / folder / "Makefile"), f"build-{logical_id}"],
            env={**os.environ, "ARTIFACTS_DIR": "/nonexistent"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert dry_run.returncode == 0, dry_run.stderr
        assert "compileall" in dry_run.stdout
    for layer_id, folder in (
        ("FlexcordLayer", "flexcord"),
        ("KnowledgeLayer", "knowledge"),
        ("TwilioLayer", "twilio"),
    ):
        assert resources[layer_id]["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
        assert f"build-{layer_id}:" in (ROOT / "layers" / folder / "Makefile").read_text()


def test_only_the_functions_that_answer_from_the_help_centre_carry_the_knowledge_layer(
    template: dict[str, Any],
) -> None:
    carriers = {
        logical_id
        for logical_id, resource in _resources(template).items()
        if {"Ref": "KnowledgeLayer"} in resource.get("Properties", {}).get("Layers", [])
    }
    assert carriers == {"WorkerFunction", "ChatbotFunction"}


def _imported_modules(source: Path) -> set[str]:
    """The modules a file may import at run time: at its top or inside a function, not under
    ``if TYPE_CHECKING:``. ``from a.b import c`` counts as a.b and a.b.c (c may be a module)."""
    tree = ast.parse(source.read_text(), filename=str(source))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    modules: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source}: a relative import this walk does not follow"
            assert node.module
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _packages_a_handler_can_import(handler: Path) -> set[str]:
    """The top-level packages other than flexcord that a handler can import, itself or through
    any flexcord module it can reach (and each package's __init__ on the way)."""
    packages: set[str] = set()
    seen: set[Path] = set()
    todo = [handler]
    while todo:
        for module in _imported_modules(todo.pop()):
            parts = module.split(".")
            if parts[0] != "flexcord":
                packages.add(parts[0])
                continue
            for end in range(1, len(parts) + 1):
                path = LAYER_SOURCE.parent.joinpath(*parts[:end])
                for source in (path / "__init__.py", path.with_suffix(".py")):
                    if source.is_file() and source not in seen:
                        seen.add(source)
                        todo.append(source)
    return packages


def test_only_the_functions_that_can_import_twilio_carry_the_twilio_layer(template: dict[str, Any]) -> None:
    """Read from the code: a function carries TwilioLayer exactly when its handler can import
    twilio at run time (lazy imports inside functions included). The interactions endpoint,
    which must answer within 3 s, neither imports it nor ships it."""
    layers = _function_layers(template)
    importers = {
        logical_id
        for logical_id in layers
        if "twilio"
        in _packages_a_handler_can_import(
            ROOT / _resources(template)[logical_id]["Properties"]["CodeUri"] / "app.py"
        )
    }
    assert importers == TWILIO_FUNCTIONS
    assert {logical_id for logical_id, names in layers.items() if "TwilioLayer" in names} == TWILIO_FUNCTIONS
    assert "InteractionsFunction" not in TWILIO_FUNCTIONS
    # The walk sees through flexcord: the interactions handler's own app.py imports no PyNaCl.
    assert "nacl" in _packages_a_handler_can_import(ROOT / "functions" / "interactions" / "app.py")


def test_interactions_function_can_only_enqueue_and_count_rate_limits(template: dict[str, Any]) -> None:
    function = _resources(template)["InteractionsFunction"]
    statements = _statements(function)
    assert _actions(statements) == {"sqs:SendMessage", "dynamodb:UpdateItem"}
    assert _resources_by_service(statements) == {"sqs": {"JobQueue"}, "dynamodb": {"FlexcordTable"}}
    event = function["Properties"]["Events"]["DiscordInteractions"]
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == ("POST", "/discord/interactions")
    variables = function["Properties"]["Environment"]["Variables"]
    assert set(variables) == {
        "DISCORD_APPLICATION_ID",
        "DISCORD_PUBLIC_KEY",
        "DISCORD_GUILD_ID",
        "DISCORD_ALLOWED_GUILD_IDS",
        "MEMBER_RATE_LIMIT_PER_MINUTE",
        "TABLE_NAME",
        "JOB_QUEUE_URL",
        "AWS_ENDPOINT_URL",
    }
    # Declared empty (boto3's default endpoints) only so `sam local invoke --env-vars` can set it.
    assert variables["AWS_ENDPOINT_URL"] == ""


def test_interactions_function_may_only_update_rate_limit_items(template: dict[str, Any]) -> None:
    function = _resources(template)["InteractionsFunction"]
    table_statements = [
        s
        for s in _statements(function)
        if any(
            a.startswith("dynamodb:")
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
    ]
    (statement,) = table_statements
    assert statement["Action"] in ("dynamodb:UpdateItem", ["dynamodb:UpdateItem"])
    # The table only: no index, no wildcard.
    assert statement["Resource"] == {"Fn::GetAtt": ["FlexcordTable", "Arn"]}
    # Every partition key the request touches starts with RATE#.
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RATE#*"]}}
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "FlexcordTable"}
    assert variables["MEMBER_RATE_LIMIT_PER_MINUTE"] == {"Ref": "MemberRateLimitPerMinute"}
    parameter = template["Parameters"]["MemberRateLimitPerMinute"]
    assert parameter["Type"] == "Number"
    assert parameter["Default"] == 20
    assert parameter["MinValue"] == 0  # the code reads 0 as "no limit"


def test_worker_function_touches_only_the_table_its_secrets_and_its_queue(template: dict[str, Any]) -> None:
    resources = _resources(template)
    function = resources["WorkerFunction"]
    statements = _statements(function)
    actions = _actions(statements)
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "secretsmanager", "sqs"}
    assert "dynamodb:*" not in actions
    assert "dynamodb:Scan" not in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert {a for a in actions if a.startswith("sqs:")} == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",  # feed polls queue their entries' posts
    }
    assert _resources_by_service(statements) == {
        "dynamodb": {"FlexcordTable"},
        "secretsmanager": {"DiscordBotTokenSecretName", "TwilioAuthTokenSecretName"},
        "sqs": {"JobQueue"},
    }
    # An explicit mapping instead of SAM's SQS event, which would attach the managed
    # AWSLambdaSQSQueueExecutionRole (every queue in the account).
    assert not function["Properties"].get("Events")
    assert "ManagedPolicyArns" not in function["Properties"]
    mapping = resources["WorkerJobsEventSource"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["JobQueue", "Arn"]}
    assert mapping["Properties"]["FunctionName"] == {"Ref": "WorkerFunction"}
    assert mapping["Properties"]["BatchSize"] == 10
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["JOB_MAX_RECEIVE_COUNT"] == {"Ref": "JobMaxReceiveCount"}
    assert variables["TABLE_NAME"] == {"Ref": "FlexcordTable"}
    assert variables["DISCORD_BOT_TOKEN_SECRET_ID"] == {"Ref": "DiscordBotTokenSecretName"}
    assert "DISCORD_BOT_TOKEN" not in variables
    assert "TWILIO_AUTH_TOKEN" not in variables
    assert variables["TWILIO_AUTH_TOKEN_SECRET_ID"] == {"Ref": "TwilioAuthTokenSecretName"}


def test_commands_function_reads_only_the_bot_token(template: dict[str, Any]) -> None:
    resources = _resources(template)
    function = resources["CommandsFunction"]
    statements = _statements(function)
    assert _actions(statements) == {"secretsmanager:GetSecretValue"}
    assert _resources_by_service(statements) == {"secretsmanager": {"DiscordBotTokenSecretName"}}
    assert not function["Properties"].get("Events")
    variables = function["Properties"]["Environment"]["Variables"]
    assert set(variables) == {
        "DISCORD_APPLICATION_ID",
        "DISCORD_GUILD_ID",
        "DISCORD_BOT_TOKEN_SECRET_ID",
        "DISCORD_API_BASE_URL",
        "AWS_ENDPOINT_URL",
    }
    assert variables["DISCORD_API_BASE_URL"] == variables["AWS_ENDPOINT_URL"] == ""
    commands = resources["DiscordCommands"]["Properties"]
    assert commands["ServiceToken"] == {"Fn::GetAtt": ["CommandsFunction", "Arn"]}
    assert commands["LayerVersion"] == {"Ref": "FlexcordLayer"}
    assert commands["ApplicationId"] == {"Ref": "DiscordApplicationId"}
    assert commands["GuildId"] == {"Ref": "DiscordGuildId"}


def test_no_secret_in_any_environment(template: dict[str, Any]) -> None:
    resources = _resources(template)
    for logical_id in FUNCTIONS:
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        for name in variables:
            assert "TOKEN" not in name or name.endswith("_SECRET_ID"), (logical_id, name)


def test_each_function_has_a_log_group_with_retention(template: dict[str, Any]) -> None:
    log_groups = [
        r["Properties"] for r in _resources(template).values() if r["Type"] == "AWS::Logs::LogGroup"
    ]
    for logical_id in FUNCTIONS:
        matching = [
            g for g in log_groups if g.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        ]
        assert len(matching) == 1, logical_id
        assert matching[0]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) >= {"InteractionsEndpointUrl", "TableName", "JobQueueUrl", "JobDeadLetterQueueUrl"}
    assert outputs["InteractionsEndpointUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/discord/interactions"
    }


def test_conversation_events_function_queues_jobs_and_reads_only_the_twilio_token(
    template: dict[str, Any],
) -> None:
    function = _resources(template)["ConversationEventsFunction"]
    statements = _statements(function)
    assert _actions(statements) == {"sqs:SendMessage", "secretsmanager:GetSecretValue"}
    assert _resources_by_service(statements) == {
        "sqs": {"JobQueue"},
        "secretsmanager": {"TwilioAuthTokenSecretName"},
    }
    event = function["Properties"]["Events"]["TwilioConversationEvents"]
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == (
        "POST",
        "/twilio/conversation-events",
    )
    assert function["Properties"]["Timeout"] <= 5  # Twilio gives a webhook 5 s
    variables = function["Properties"]["Environment"]["Variables"]
    assert "TWILIO_AUTH_TOKEN" not in variables
    assert variables["TWILIO_AUTH_TOKEN_SECRET_ID"] == {"Ref": "TwilioAuthTokenSecretName"}


def test_announcements_webhook_only_enqueues_and_reads_its_own_secret(template: dict[str, Any]) -> None:
    function = _resources(template)["AnnouncementsWebhookFunction"]
    statements = _statements(function)
    # No table: the idempotency key becomes the job's FIFO deduplication id.
    assert _actions(statements) == {"sqs:SendMessage", "secretsmanager:GetSecretValue"}
    assert _resources_by_service(statements) == {
        "sqs": {"JobQueue"},
        "secretsmanager": {"AnnouncementsWebhookSecretName"},
    }
    assert "ManagedPolicyArns" not in function["Properties"]
    (event,) = function["Properties"]["Events"].values()
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == ("POST", "/announcements/webhook")
    assert event["Properties"]["PayloadFormatVersion"] == "2.0"
    variables = function["Properties"]["Environment"]["Variables"]
    assert set(variables) == {
        "JOB_QUEUE_URL",
        "ANNOUNCEMENTS_WEBHOOK_SECRET_SECRET_ID",
        "ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST",
        "DISCORD_APPLICATION_ID",
        "DISCORD_GUILD_ID",
        "DISCORD_ALLOWED_GUILD_IDS",
        "AWS_ENDPOINT_URL",
    }
    assert variables["ANNOUNCEMENTS_WEBHOOK_SECRET_SECRET_ID"] == {"Ref": "AnnouncementsWebhookSecretName"}
    assert variables["ANNOUNCEMENTS_WEBHOOK_REVIEW_FIRST"] == {"Ref": "AnnouncementsWebhookReviewFirst"}
    review_first = template["Parameters"]["AnnouncementsWebhookReviewFirst"]
    # Off unless chosen, and only the two values the function reads.
    assert (review_first["Default"], review_first["AllowedValues"]) == ("false", ["true", "false"])
    assert variables["DISCORD_GUILD_ID"] == {"Ref": "DiscordGuildId"}
    assert variables["DISCORD_ALLOWED_GUILD_IDS"] == {"Ref": "DiscordAllowedGuildIds"}
    parameter = template["Parameters"]["AnnouncementsWebhookSecretName"]
    assert parameter["Default"] == "flexcord/announcements-webhook-secret"
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])
    assert not re.fullmatch(parameter["AllowedPattern"], "arn:aws:secretsmanager:us-east-1:1:secret:x y")
    assert template["Outputs"]["AnnouncementsWebhookUrl"]["Value"]["Fn::If"][2] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/announcements/webhook"
    }


# --------------------------------------------------------------------------- limits and settings


@pytest.mark.parametrize(
    ("logical_id", "parameter_name"),
    [
        ("ConversationEventsFunction", "ConversationEventsReservedConcurrency"),
        ("ChatbotFunction", "ChatbotReservedConcurrency"),
        ("AnnouncementsWebhookFunction", "AnnouncementsWebhookReservedConcurrency"),
    ],
)
def test_public_twilio_functions_have_reserved_concurrency(
    template: dict[str, Any], logical_id: str, parameter_name: str
) -> None:
    properties = _resources(template)[logical_id]["Properties"]
    assert properties["ReservedConcurrentExecutions"] == {"Ref": parameter_name}
    parameter = template["Parameters"][parameter_name]
    assert parameter["Type"] == "Number"
    assert parameter["Default"] == 10
    # 0 would stop the function altogether.
    assert parameter["MinValue"] >= 1
    # Lambda refuses a reservation that leaves the account fewer than 100 unreserved.
    assert "100" in parameter["Description"]
    assert "unreserved" in parameter["Description"]


def test_worker_concurrency_is_bounded_and_told_to_the_worker(template: dict[str, Any]) -> None:
    resources = _resources(template)
    mapping = resources["WorkerJobsEventSource"]["Properties"]
    maximum = mapping["ScalingConfig"]["MaximumConcurrency"]
    variables = resources["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    # The worker divides Discord's global budget by the same number the event source stops at.
    assert variables["WORKER_MAX_CONCURRENCY"] == maximum == {"Ref": "WorkerMaxConcurrency"}
    parameter = template["Parameters"]["WorkerMaxConcurrency"]
    assert parameter["Type"] == "Number"
    assert parameter["Default"] == 5
    assert parameter["MinValue"] >= 2  # the least an SQS event source accepts
    # 50 requests/s shared by at most 50 instances: each keeps at least 1/s.
    assert parameter["MaxValue"] <= 50


def test_allowed_servers_reach_the_interactions_function_and_the_worker(template: dict[str, Any]) -> None:
    resources = _resources(template)
    for logical_id in ("InteractionsFunction", "WorkerFunction"):
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["DISCORD_ALLOWED_GUILD_IDS"] == {"Ref": "DiscordAllowedGuildIds"}, logical_id
        # Empty means DiscordGuildId alone, so both need it too.
        assert variables["DISCORD_GUILD_ID"] == {"Ref": "DiscordGuildId"}, logical_id
    parameter = template["Parameters"]["DiscordAllowedGuildIds"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for accepted in ("", "123456789012345678", "123456789012345678,98765432109876543210"):
        assert pattern.fullmatch(accepted), accepted
    for refused in ("abc", "123", "123456789012345678,", ",123456789012345678", "123456789012345678 ,1"):
        assert not pattern.fullmatch(refused), refused


def test_every_parameter_is_in_a_console_group_and_in_samconfig(template: dict[str, Any]) -> None:
    parameters = set(template["Parameters"])
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(parameters)
    # samconfig.toml's example parameter_overrides line names every parameter.
    (line,) = [
        line
        for line in (ROOT / "samconfig.toml").read_text().splitlines()
        if line.startswith("# parameter_overrides = ")
    ]
    assert set(re.findall(r'(\w+)=\\"', line)) == parameters


def test_the_scheduler_runs_every_minute_without_retries_and_only_queries_and_enqueues(
    template: dict[str, Any],
) -> None:
    function = _resources(template)["SchedulerFunction"]["Properties"]
    [event] = function["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(1 minute)"
    # An overlapping retry would only queue the same jobs again; the next minute does it anyway.
    assert event["Properties"]["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    [policy] = function["Policies"]
    actions = sorted(
        action
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert actions == ["dynamodb:Query", "sqs:SendMessage"]
    assert function["Timeout"] <= 30


def test_the_benchmark_sizes_each_function_with_the_layers_it_carries(build_dir: Path) -> None:
    """``make bench``'s package figures, on this module's build: every function, zipped and
    unzipped, the worker heavier than the interactions function by the layers only it carries."""
    from scripts.bench import FUNCTIONS, measure_packages

    figures = {figure.name: figure for figure in measure_packages(None, build_dir)}
    for folder in FUNCTIONS.values():
        zipped, unzipped = figures[f"package.{folder}.zipped"], figures[f"package.{folder}.unzipped"]
        assert 0 < zipped.value < unzipped.value
        assert unzipped.budget == "<= 250"
        assert unzipped.met is True
    carried = "InteractionsFunction + FlexcordLayer"
    assert figures["package.interactions.unzipped"].note.startswith(carried)
    assert "TwilioLayer" in figures["package.worker.unzipped"].note
    assert figures["package.worker.unzipped"].value > figures["package.interactions.unzipped"].value + 50
