"""The compose stack agrees with the Compose Specification and with the repository.

These checks read the documents that `docker compose up` would read: the compose file, the local
override of `make compose-test`, the Dockerfiles, the Prometheus config and the workspace manifests
(`make compose-test` runs the stack itself, and this suite inside it). Each check is a function from a
parsed document to a list of problems, shown to find the faults it looks for on a deliberately broken
document as well as to find none in the real one.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from amnesty_contracts.topics import TOPICS
from tests.support.intake import submission
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
LOCAL_OVERRIDE = REPO / "deploy" / "compose" / "local.yml"
IMAGE_BUILD_SCRIPT = REPO / "deploy" / "compose" / "images.sh"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
SERVICE_DOCKERFILES = sorted((REPO / "services").glob("*/Dockerfile"))
LOOPBACK = "127.0.0.1"
SERVICES = ("intake", "eligibility", "statistics")

Compose = Mapping[str, Any]
Check = Callable[[Compose, Path], list[str]]


# --- reading ------------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> Compose:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


def services_of(compose: Compose) -> dict[str, Mapping[str, Any]]:
    services = compose.get("services") or {}
    return {name: spec or {} for name, spec in services.items()}


def depends_on_of(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's dependencies and their conditions, from the list or the mapping form."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends_on.items()}


def is_one_shot(service: Mapping[str, Any]) -> bool:
    """A job that runs to completion; long-running services say how they restart."""
    return str(service.get("restart")) == "no"


def is_local_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def is_interpolated(source: str) -> bool:
    """A value compose takes from the environment (or .env) of whoever starts it."""
    return source.startswith("${")


# ${NAME:-default} or ${NAME-default}: a value that is used when nobody sets one.
DEFAULTED_VARIABLE = re.compile(r"\$\{(\w+):?-[^}]*\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", flags=re.IGNORECASE)


def run_check_jsonschema(document: Path) -> subprocess.CompletedProcess[str]:
    beside_interpreter = Path(sys.executable).with_name("check-jsonschema")
    executable = str(beside_interpreter) if beside_interpreter.is_file() else shutil.which("check-jsonschema")
    if executable is None:
        pytest.fail("check-jsonschema is not installed; it is in the dev dependency group")
    return subprocess.run(
        [executable, "--builtin-schema", "vendor.compose-spec", str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- checks -------------------------------------------------------------------------------------------


def build_problems(compose: Compose, root: Path) -> list[str]:
    problems = []
    for name, service in services_of(compose).items():
        build = service.get("build")
        if build is None:
            continue
        spec = {"context": build} if isinstance(build, str) else build
        context = root / spec.get("context", ".")
        dockerfile = context / spec.get("dockerfile", "Dockerfile")
        if not context.is_dir():
            problems.append(f"{name}: build context {context} is not a directory")
        elif not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
    return problems


def _host_paths(compose: Compose) -> Iterator[tuple[str, str]]:
    """(owner, host path) for every bind mount and every file-backed config or secret."""
    for name, service in services_of(compose).items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, str):
                source = volume.split(":", 1)[0]
                if is_local_path(source):
                    yield name, source
            elif volume.get("type") == "bind":
                yield name, str(volume.get("source", ""))
    for section in ("configs", "secrets"):
        for name, spec in (compose.get(section) or {}).items():
            if "file" in (spec or {}):
                yield f"{section}.{name}", str(spec["file"])


def bind_mount_problems(compose: Compose, root: Path) -> list[str]:
    problems = []
    for owner, source in _host_paths(compose):
        if is_interpolated(source):
            continue  # the environment names it: secret_problems requires that it be given
        if not source.startswith("."):
            problems.append(f"{owner}: host path {source!r} is not relative to the compose file")
        elif not (root / source).exists():
            problems.append(f"{owner}: host path {source!r} does not exist")
    return problems


def healthcheck_problems(compose: Compose, root: Path) -> list[str]:
    problems = []
    for name, service in services_of(compose).items():
        if "restart" not in service:
            problems.append(f"{name}: no restart policy (say restart: 'no' for a one-shot job)")
        elif not is_one_shot(service):
            healthcheck = service.get("healthcheck") or {}
            test = healthcheck.get("test")
            if not test or healthcheck.get("disable") or test == ["NONE"]:
                problems.append(f"{name}: long-running service without a healthcheck")
    return problems


def host_port_problems(compose: Compose, root: Path) -> list[str]:
    problems = []
    for name, service in services_of(compose).items():
        if service.get("network_mode") == "host":
            problems.append(f"{name}: network_mode host exposes every port on every interface")
        for port in service.get("ports") or []:
            if isinstance(port, Mapping):
                on_loopback = port.get("host_ip") == LOOPBACK
            else:
                # HOST_IP:HOST_PORT:CONTAINER_PORT; the host port may be an ${interpolation}.
                on_loopback = (
                    isinstance(port, str) and port.startswith(f"{LOOPBACK}:") and port.count(":") >= 2
                )
            if not on_loopback:
                problems.append(f"{name}: port {port!r} is not bound to {LOOPBACK}")
    return problems


def depends_on_problems(compose: Compose, root: Path) -> list[str]:
    services = services_of(compose)
    problems = []
    for name, service in services.items():
        for dependency, condition in depends_on_of(service).items():
            target = services.get(dependency)
            if target is None:
                problems.append(f"{name}: depends on undefined service {dependency!r}")
            elif condition == "service_healthy" and not (target.get("healthcheck") or {}).get("test"):
                problems.append(f"{name}: waits for {dependency} to be healthy, which has no healthcheck")
            elif condition == "service_completed_successfully" and not is_one_shot(target):
                problems.append(f"{name}: waits for {dependency} to complete, which is not a one-shot job")
    return problems


def reference_problems(compose: Compose, root: Path) -> list[str]:
    """Named volumes, secrets and configs used by a service are declared at the top level."""
    declared = {section: set(compose.get(section) or {}) for section in ("volumes", "secrets", "configs")}
    problems = []
    for name, service in services_of(compose).items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, str):
                source = volume.split(":", 1)[0] if ":" in volume else ""
                named = source and not is_local_path(source)
            else:
                source = str(volume.get("source", ""))
                named = volume.get("type") == "volume" and bool(source)
            if named and source not in declared["volumes"]:
                problems.append(f"{name}: volume {source!r} is not declared under volumes")
        for section in ("secrets", "configs"):
            for reference in service.get(section) or []:
                source = reference if isinstance(reference, str) else reference.get("source")
                if source not in declared[section]:
                    problems.append(f"{name}: {section[:-1]} {source!r} is not declared under {section}")
    return problems


def injected_file_problems(compose: Compose, root: Path) -> list[str]:
    """Compose copies a secret or config given by `environment` or `content` into the container at
    start, and refuses to on a read-only root filesystem; `docker compose config` does not notice."""
    injected = {
        (section, name)
        for section in ("secrets", "configs")
        for name, spec in (compose.get(section) or {}).items()
        if {"environment", "content"} & set(spec or {})
    }
    problems = []
    for name, service in services_of(compose).items():
        if not service.get("read_only"):
            continue
        for section in ("secrets", "configs"):
            for reference in service.get(section) or []:
                source = reference if isinstance(reference, str) else reference.get("source")
                if (section, source) in injected:
                    problems.append(f"{name}: read_only, so compose cannot inject {section[:-1]} {source!r}")
    return problems


def secret_problems(compose: Compose, root: Path) -> list[str]:
    """No password, key or token has a default, and every secret is a file the environment names,
    required (`${VAR:?message}`): a stack must never come up on a value anyone could guess."""
    problems = [
        f"{variable} has a default value; require it with ${{{variable}:?message}}"
        for variable in DEFAULTED_VARIABLE.findall(yaml.safe_dump(dict(compose)))
        if SECRET_NAME.search(variable)
    ]
    for name, spec in (compose.get("secrets") or {}).items():
        source = str((spec or {}).get("file", ""))
        if not re.fullmatch(r"\$\{\w+:\?[^}]+\}", source):
            problems.append(f"secrets.{name}: not a file named by a required variable ${{VAR:?message}}")
    return problems


def readiness_problems(compose: Compose, root: Path) -> list[str]:
    """A service built here counts as healthy once it is ready to work (/readyz), and runs under an
    init that forwards SIGTERM (Python as PID 1 ignores it)."""
    problems = []
    for name, service in services_of(compose).items():
        if "build" not in service or is_one_shot(service):
            continue
        probe = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
        if "/readyz" not in probe:
            problems.append(f"{name}: the healthcheck does not probe /readyz")
        if service.get("init") is not True:
            problems.append(f"{name}: no init: true")
    return problems


CHECKS: tuple[Check, ...] = (
    build_problems,
    bind_mount_problems,
    healthcheck_problems,
    host_port_problems,
    depends_on_problems,
    reference_problems,
    injected_file_problems,
    secret_problems,
    readiness_problems,
)

# One document with a fault for every check above.
BROKEN_COMPOSE: Compose = {
    "services": {
        "app": {
            "restart": "unless-stopped",
            "build": {"context": ".", "dockerfile": "no/such/Dockerfile"},
            "volumes": ["./no/such/dir:/data", "undeclared-volume:/var/lib/app"],
            "ports": ["8000:8000"],
            "depends_on": {
                "ghost": {"condition": "service_started"},
                "job": {"condition": "service_healthy"},
            },
            "secrets": ["undeclared-secret"],
            "environment": {"DB_URL": "postgresql://app:${APP_DB_PASSWORD:-app}@db/app"},
            "healthcheck": {"test": ["CMD", "probe", "http://127.0.0.1:8000/healthz"]},
        },
        "job": {"image": "busybox"},
        "locked": {"restart": "always", "read_only": True, "secrets": ["env-key"]},
    },
    "secrets": {"key": {"file": "./no/such/key"}, "env-key": {"environment": "KEY"}},
}


def test_interpolated_secret_files_are_left_to_the_secret_check() -> None:
    compose = {"secrets": {"key": {"file": "${KEY_FILE:?set KEY_FILE}"}}}

    assert bind_mount_problems(compose, REPO) == []
    assert secret_problems(compose, REPO) == []


# --- the compose file ---------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = run_check_jsonschema(COMPOSE_FILE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_document_that_breaks_the_specification(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  app:\n    image: [not, a, string]\n    restart: sometimes\n    no_such_key: 1\n",
        encoding="utf-8",
    )

    result = run_check_jsonschema(broken)

    assert result.returncode != 0
    assert "no_such_key" in result.stdout + result.stderr


def test_compose_file_defines_the_whole_system() -> None:
    services = services_of(load_compose())

    expected = {"kafka", "topics", "postgres", "intake", "eligibility", "statistics", "prometheus", "grafana"}
    assert expected <= services.keys()
    assert "contract" in services["contract-tests"].get("profiles", [])


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_compose_file_passes_check(check: Check) -> None:
    assert check(load_compose(), COMPOSE_FILE.parent) == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_check_finds_the_fault_in_a_broken_document(check: Check) -> None:
    assert check(BROKEN_COMPOSE, REPO) != []


def test_services_wait_for_the_topics_job_and_healthy_infrastructure() -> None:
    services = services_of(load_compose())

    for name in SERVICES:
        assert depends_on_of(services[name]) == {
            "postgres": "service_healthy",
            "kafka": "service_healthy",
            "topics": "service_completed_successfully",
        }, name


def test_topics_job_creates_every_contract_topic_with_its_retention() -> None:
    topics = services_of(load_compose())["topics"]
    script = "\n".join(map(str, topics["command"]))

    created = dict(re.findall(r"^\s*create\s+(\S+)(.*)$", script, flags=re.MULTILINE))

    assert created.keys() == TOPICS.keys()
    for name, arguments in created.items():
        assert ("keep[@]" in arguments) == TOPICS[name].unlimited_retention, name
    assert "retention.ms=-1" in script


def test_each_service_gets_its_own_database_credentials_and_no_others() -> None:
    services = services_of(load_compose())
    own_urls = {f"AMNESTY_{name.upper()}_DATABASE_URL" for name in SERVICES}

    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "DATABASE_URL" not in environment, f"{name} must not hold the admin credentials"
        assert own_urls & environment.keys() == {f"AMNESTY_{name.upper()}_DATABASE_URL"}, name
        assert environment[f"AMNESTY_{name.upper()}_DATABASE_URL"].startswith(f"postgresql://{name}:")


@pytest.mark.parametrize("secret", ["pseudonym-key", "intake-api-token", "intake-source-tokens"])
def test_only_intake_holds_its_key_and_token_as_files(secret: str) -> None:
    services = services_of(load_compose())
    setting = {
        "pseudonym-key": "AMNESTY_PSEUDONYM_KEY_FILE",
        "intake-api-token": "AMNESTY_INTAKE_API_TOKEN_FILE",
        "intake-source-tokens": "AMNESTY_INTAKE_SOURCE_TOKENS_FILE",
    }

    holders = {name for name, service in services.items() if secret in (service.get("secrets") or [])}

    # The contract suite submits as an upstream system does, with the token; it never sees the key.
    clients = {"contract-tests"} if secret == "intake-api-token" else set()
    assert holders == {"intake"} | clients
    for holder in holders:
        assert services[holder]["environment"][setting[secret]] == f"/run/secrets/{secret}"
    assert "AMNESTY_PROFILE" not in services["intake"]["environment"], "a real profile, not demo or test"


def test_each_service_holds_its_own_signing_key_and_only_its_producers_keys() -> None:
    services = services_of(load_compose())
    trusted = {"intake": set(), "eligibility": {"intake"}, "statistics": {"intake", "eligibility"}}

    for name, producers in trusted.items():
        environment = services[name]["environment"]
        prefix = f"AMNESTY_{name.upper()}"
        assert environment[f"{prefix}_SIGNING_KEY_FILE"] == f"/run/secrets/signing-{name}-key"
        verifying = json.loads(environment.get(f"{prefix}_VERIFYING_KEY_FILES", "{}"))
        assert verifying == {p: [f"/run/secrets/signing-{p}-key"] for p in producers}, name
        keys = {s for s in services[name].get("secrets") or [] if s.startswith("signing-")}
        assert keys == {f"signing-{p}-key" for p in producers | {name}}, name
    for name, service in services.items():
        if name not in trusted:
            assert not [s for s in service.get("secrets") or [] if s.startswith("signing-")], name


def test_kafka_clients_reach_the_broker_over_tls_trusting_its_ca() -> None:
    services = services_of(load_compose())
    kafka = services["kafka"]["environment"]
    protocols = dict(pair.split(":") for pair in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))

    # Every listener a client reaches over the network is TLS; CONTROLLER serves the one combined node.
    assert protocols == {
        "CLIENTS": "SASL_SSL",
        "HOST": "SASL_SSL",
        "ADMIN": "SASL_SSL",
        "CONTROLLER": "SASL_PLAINTEXT",
    }
    assert kafka["KAFKA_SSL_KEYSTORE_LOCATION"] == "/run/secrets/kafka-broker-tls"
    assert kafka["KAFKA_SSL_TRUSTSTORE_LOCATION"] == "/run/secrets/kafka-ca"
    holders = {
        name for name, service in services.items() if "kafka-broker-tls" in (service.get("secrets") or [])
    }
    assert holders == {"kafka"}, "the broker's key is the broker's alone"
    clients = {
        name
        for name, service in services.items()
        if "KAFKA_BOOTSTRAP_SERVERS" in (service.get("environment") or {})
    }
    assert clients >= {"intake", "eligibility", "statistics", "simulator", "contract-tests"}
    for name in clients:
        environment, secrets = services[name]["environment"], services[name].get("secrets") or []
        assert environment["AMNESTY_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert environment["AMNESTY_KAFKA_SSL_CAFILE"] == "/run/secrets/kafka-ca", name
        assert "kafka-ca" in secrets, name
    # The Java tools (healthcheck, `topics`) speak TLS to ADMIN too.
    for script in (
        " ".join(services["kafka"]["healthcheck"]["test"]),
        " ".join(services["topics"]["command"]),
    ):
        assert "security.protocol=SASL_SSL" in script
        assert "ssl.truststore.location=/run/secrets/kafka-ca" in script
        assert "SASL_PLAINTEXT" not in script


def test_simulator_runs_only_in_the_demo_profile_and_publishes_to_the_compose_kafka() -> None:
    simulator = services_of(load_compose())["simulator"]

    assert simulator["profiles"] == ["demo"]
    assert is_one_shot(simulator)
    assert simulator["command"][:2] == ["amnesty", "simulate"]
    assert simulator["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert depends_on_of(simulator) == {"intake": "service_healthy"}


def test_contract_container_reaches_every_service_by_its_compose_name() -> None:
    services = services_of(load_compose())
    contract = services["contract-tests"]

    for name in SERVICES:
        port = services[name]["environment"][f"AMNESTY_{name.upper()}_HTTP_PORT"]
        assert contract["environment"][f"AMNESTY_{name.upper()}_URL"] == f"http://{name}:{port}"
        assert depends_on_of(contract)[name] == "service_healthy"
    assert contract["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_every_published_port_can_be_moved_by_a_variable() -> None:
    """`make compose-test` publishes on free ports, never on the defaults other stacks use."""
    for name, service in services_of(load_compose()).items():
        for port in service.get("ports") or []:
            # ${X_HOST_PORT:-N}, or for the scalable services ${X_HOST_PORT-N}: empty means any free port.
            assert re.fullmatch(rf"{LOOPBACK}:\$\{{[A-Z_]+_HOST_PORT:?-\d+\}}:\d+", port), f"{name}: {port}"


def test_each_service_scales_by_one_variable_each_instance_a_static_member_on_its_own_port() -> None:
    services = services_of(load_compose())
    for name in SERVICES:
        service = services[name]
        assert service["scale"] == "${AMNESTY_REPLICAS:-1}", name
        assert service["environment"][f"AMNESTY_{name.upper()}_INSTANCE_ID"] == f"{name}-{{hostname}}"
        # An empty variable leaves the host port to Docker: one free port per instance, no clash.
        [port] = service["ports"]
        assert re.fullmatch(rf"{LOOPBACK}:\$\{{{name.upper()}_HOST_PORT-\d+\}}:\d+", port), port


# --- the local override of `make compose-test` --------------------------------------------------------


def test_local_override_replaces_every_public_image_but_grafanas_with_one_built_here() -> None:
    services = services_of(load_compose())
    override = services_of(load_compose(LOCAL_OVERRIDE))
    built = set(re.findall(r"amnesty-local/[\w-]+:[\w.-]+", IMAGE_BUILD_SCRIPT.read_text(encoding="utf-8")))

    assert override.keys() == services.keys() - {"grafana"}
    for name, spec in override.items():
        assert spec.keys() == {"image"}, f"{name}: the override changes only the image"
        assert spec["image"] in built, f"{name}: images.sh does not build {spec['image']}"


def test_local_kafka_image_has_the_tools_the_compose_file_calls() -> None:
    services = services_of(load_compose())
    called = re.findall(
        r"/opt/kafka/bin/([\w-]+\.sh)",
        yaml.safe_dump({name: services[name] for name in ("kafka", "topics")}),
    )

    assert called
    for script in called:
        assert (REPO / "deploy" / "kafka" / "bin" / script).is_file(), script


@pytest.mark.parametrize(
    "dockerfile",
    sorted((REPO / "deploy").glob("*/Dockerfile")) + sorted((REPO / "deploy").glob("compose/*.Dockerfile")),
    ids=lambda path: str(path.relative_to(REPO / "deploy")),
)
def test_every_image_built_here_runs_as_an_unprivileged_user(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)

    if dockerfile.name == "python.Dockerfile":
        assert "useradd" in text  # a base for the others, which switch to its user
        return
    assert users, "runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


# --- Dockerfiles and the workspace --------------------------------------------------------------------


def workspace_members() -> dict[str, Path]:
    """Name -> directory of every member of the uv workspace."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    members = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for manifest in sorted(REPO.glob(f"{pattern}/pyproject.toml")):
            project = tomllib.loads(manifest.read_text(encoding="utf-8"))["project"]
            members[project["name"]] = manifest.parent
    return members


def dockerfile_copy_sources(dockerfile: str) -> list[str]:
    """The build-context paths of every COPY that does not copy from another stage or image."""
    sources = []
    for line in re.findall(r"^COPY\s+(.+)$", dockerfile, flags=re.MULTILINE):
        words = line.split()
        if any(word.startswith("--from=") for word in words):
            continue
        sources += [word for word in words[:-1] if not word.startswith("--")]
    return sources


def dockerfile_problems(dockerfile: Path, text: str) -> list[str]:
    """What keeps a service Dockerfile from building its own workspace member into a runnable image."""
    members = workspace_members()
    own = [name for name, directory in members.items() if directory == dockerfile.parent]
    problems = [] if own else [f"{dockerfile.parent} is not a workspace member"]
    packages = set(re.findall(r"--package\s+(\S+)", text))
    if packages != set(own):
        problems.append(f"installs {sorted(packages)}, not its own member {own}")
    scripts = {script for name in own for script in _scripts_of(members[name])}
    commands = re.findall(r'^CMD \["([^"]+)"', text, flags=re.MULTILINE)
    if not commands or commands[-1] not in scripts:
        problems.append(f"the image's command {commands[-1:]} is not a console script of {own}")
    sources = dockerfile_copy_sources(text)
    problems += [
        f"COPY of {source}, which does not exist" for source in sources if not (REPO / source).exists()
    ]
    manifests = {str((path / "pyproject.toml").relative_to(REPO)) for path in members.values()}
    problems += [
        f"does not copy {manifest} for the dependency layer" for manifest in sorted(manifests - set(sources))
    ]
    if not re.search(r"^EXPOSE \d+$", text, flags=re.MULTILINE):
        problems.append("exposes no port")
    if not re.search(r"^USER \d+", text, flags=re.MULTILINE):
        problems.append("runs as root")
    return problems


def _scripts_of(member: Path) -> set[str]:
    project = tomllib.loads((member / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project.get("scripts", {}))


def test_every_service_has_a_dockerfile() -> None:
    assert [path.parent.name for path in SERVICE_DOCKERFILES] == ["eligibility", "intake", "statistics"]


@pytest.mark.parametrize("dockerfile", SERVICE_DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_builds_its_own_workspace_member(dockerfile: Path) -> None:
    assert dockerfile_problems(dockerfile, dockerfile.read_text(encoding="utf-8")) == []


def test_dockerfile_check_finds_the_faults_of_a_broken_dockerfile() -> None:
    dockerfile = REPO / "services" / "intake" / "Dockerfile"
    broken = (
        "FROM python:3.11-slim\n"
        "COPY --from=uv /uv /bin/\n"
        "COPY pyproject.toml uv.lock ./\n"
        "COPY no/such/dir/ no/such/dir/\n"
        "RUN uv sync --frozen --package amnesty-eligibility\n"
        'CMD ["amnesty-eligibility"]\n'
    )

    problems = dockerfile_problems(dockerfile, broken)

    assert any("not its own member" in problem for problem in problems)
    assert any("console script" in problem for problem in problems)
    assert any("no/such/dir/" in problem for problem in problems)
    assert any("libs/runtime/pyproject.toml" in problem for problem in problems)
    assert "exposes no port" in problems
    assert "runs as root" in problems


# --- Prometheus ---------------------------------------------------------------------------------------


def scrape_targets() -> list[str]:
    """``<service>:<port>`` of each service job, found by DNS (one A record per instance)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    return [
        f"{name}:{dns['port']}"
        for job in config["scrape_configs"]
        if job["job_name"] != "prometheus"
        for dns in job["dns_sd_configs"]
        for name in dns["names"]
    ]


def test_prometheus_finds_every_instance_of_a_service_by_dns() -> None:
    """Static targets would scrape one instance per scrape, whichever Docker's DNS answers first."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    for job in config["scrape_configs"]:
        if job["job_name"] in SERVICES:
            assert "static_configs" not in job, job["job_name"]
            assert [(d["names"], d["type"]) for d in job["dns_sd_configs"]] == [([job["job_name"]], "A")]


def test_prometheus_scrapes_each_service_on_the_port_its_image_exposes() -> None:
    services = services_of(load_compose())

    for target in scrape_targets():
        host, port = target.split(":")
        assert host in services, f"{target}: no such compose service"
        dockerfile = (REPO / services[host]["build"]["dockerfile"]).read_text(encoding="utf-8")
        assert re.search(rf"^EXPOSE {port}$", dockerfile, flags=re.MULTILINE), target
    assert {target.split(":")[0] for target in scrape_targets()} == set(SERVICES)


def test_prometheus_config_is_accepted_by_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's prometheus package has it)")

    result = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana ------------------------------------------------------------------------------------------


def test_grafana_provisioning_points_at_the_compose_services_and_mounts() -> None:
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    datasources = yaml.safe_load(
        (provisioning / "datasources" / "datasources.yaml").read_text(encoding="utf-8")
    )
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yaml").read_text(encoding="utf-8"))
    grafana = services_of(load_compose())["grafana"]

    by_type = {source["type"]: source for source in datasources["datasources"]}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["grafana-postgresql-datasource"]["url"] == "postgres:5432"
    assert by_type["grafana-postgresql-datasource"]["user"] == "grafana"
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert [provider["options"]["path"] for provider in providers["providers"]] == [
        mounts["./deploy/grafana/dashboards"]
    ]


def test_grafana_has_no_anonymous_viewers_and_its_admin_password_is_a_secret_file() -> None:
    grafana = services_of(load_compose())["grafana"]
    environment = grafana["environment"]

    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin-password"
    assert grafana["secrets"] == ["grafana-admin-password"]


def sdk_grafana_version() -> str:
    """The Grafana version the dashboards' SDK build targets: the local part of its pinned version
    (`<build>!<grafana>`) in the root dev group."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    [pin] = [spec for spec in root["dependency-groups"]["dev"] if spec.startswith("grafana-foundation-sdk==")]
    return str(pin).split("!", 1)[1]


def minor_version(version: str) -> tuple[int, int]:
    major, minor, *_ = version.split(".")
    return int(major), int(minor)


def test_compose_runs_the_grafana_the_dashboards_are_generated_for() -> None:
    image = services_of(load_compose())["grafana"]["image"]
    name, tag = image.rsplit(":", 1)

    assert name == "grafana/grafana"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: pin a release, not a moving tag"
    assert minor_version(tag) == minor_version(sdk_grafana_version())
    assert importlib.metadata.version("grafana-foundation-sdk").endswith(f"!{sdk_grafana_version()}")


# --- the running system: in the contract container of `make compose-test` -----------------------------

# The addresses compose gives the contract container; unset elsewhere, where the services' own
# integration and end-to-end tests start them as processes.
RUNNING = {name: os.environ.get(f"AMNESTY_{name.upper()}_URL") for name in SERVICES}  # noqa: TID251
API_TOKEN_FILE = os.environ.get("AMNESTY_INTAKE_API_TOKEN_FILE")  # noqa: TID251
in_compose = pytest.mark.skipif(
    not all(RUNNING.values()) or API_TOKEN_FILE is None,
    reason="against the running compose system only (make compose-test)",
)


@pytest.fixture
def api_token() -> str:
    return Path(str(API_TOKEN_FILE)).read_text(encoding="utf-8").strip()


@in_compose
async def test_a_submission_to_the_composed_intake_reaches_the_composed_statistics(api_token: str) -> None:
    """The containers are wired as the contract says: intake takes a submission with the token from
    its secret file, pseudonymizes it with the key from its own, and the case reaches statistics
    through Kafka and eligibility's and statistics' own databases."""
    async with (
        httpx2.AsyncClient(base_url=str(RUNNING["intake"]), timeout=10) as intake,
        httpx2.AsyncClient(base_url=str(RUNNING["statistics"]), timeout=10) as statistics,
    ):
        for name in SERVICES:
            assert (await intake.get(f"{RUNNING[name]}/readyz")).status_code == 200, name

        async def cases_opened() -> int:
            return int((await statistics.get("/v1/stats/summary")).json()["cases_opened"])

        before = await cases_opened()
        response = await intake.post(
            "/v1/submissions", json=submission(), headers={"Authorization": f"Bearer {api_token}"}
        )
        unauthorised = await intake.post("/v1/submissions", json=submission())

        assert response.status_code == 200, response.text
        assert [result["status"] for result in response.json()["results"]] == ["accepted"]
        assert unauthorised.status_code == 401
        await eventually(cases_opened, lambda opened: opened > before, timeout_s=120)
