"""A service without its keys refuses to start, saying which one it misses: it never runs unsigned nor
trusting everyone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from amnesty_runtime.stack.ports import free_port
from tests.support.intake import PSEUDONYM_KEY, TOKEN
from tests.support.provenance import key_environment


def start_without(service: str, missing: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the service's console script with its keys but ``missing``; it must exit on its own."""
    prefix = f"AMNESTY_{service.upper()}"
    env = {
        k: v
        for k, v in os.environ.items()  # noqa: TID251 - a child process inherits the environment
        if not k.endswith(("_SIGNING_KEY_FILE", "_VERIFYING_KEY_FILES"))
    }
    env |= {k: v for k, v in key_environment(service).items() if not k.endswith(missing)}
    env |= {f"{prefix}_HTTP_PORT": str(free_port()), f"{prefix}_LOG_FILE": str(tmp_path / "service.log")}
    # Intake's other secrets given, so that the signing key is the one it misses.
    env |= {"AMNESTY_PSEUDONYM_KEY": PSEUDONYM_KEY, "AMNESTY_INTAKE_API_TOKEN": TOKEN}
    script = Path(sys.executable).parent / f"amnesty-{service}"
    return subprocess.run([script], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("service", "missing", "message"),
    [
        ("eligibility", "_SIGNING_KEY_FILE", "AMNESTY_ELIGIBILITY_SIGNING_KEY_FILE"),
        ("eligibility", "_VERIFYING_KEY_FILES", "without a verifying key of intake"),
        ("statistics", "_VERIFYING_KEY_FILES", "without a verifying key of eligibility"),
        ("intake", "_SIGNING_KEY_FILE", "AMNESTY_INTAKE_SIGNING_KEY_FILE"),
    ],
)
def test_a_service_without_its_keys_refuses_to_start(
    service: str, missing: str, message: str, tmp_path: Path
) -> None:
    finished = start_without(service, missing, tmp_path)
    assert finished.returncode != 0
    assert message in (tmp_path / "service.log").read_text() + finished.stderr
