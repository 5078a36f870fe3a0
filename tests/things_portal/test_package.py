"""The production image's Python side, built the way the Dockerfile builds it: the build
context (the tree minus .dockerignore) installed with `pip install` into a clean venv, then
run from a folder with no source in it, with the production settings docker-compose.yml
documents. Every app of INSTALLED_APPS must come from the installed package; migrate,
collectstatic and `check --deploy` must pass; the Dockerfile's CMD must serve pages and its
health check over plain HTTP. No Docker engine runs here, so this is the image's test."""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from tests.polling import wait_until
from tests.ports import free_port
from tests.things_portal.image import (
    ROOT,
    build_context,
    clean_venv,
    compose,
    compose_environment,
    dockerfile_cmd,
    dockerfile_env,
    pip_install,
)

pytestmark = pytest.mark.slow
HOST = "portal.example.com"


def project_apps() -> list[str]:
    """The INSTALLED_APPS that are this project's own (their code is in this tree, not in an
    installed library, the venv being inside the tree too)."""
    apps = []
    for name in settings.INSTALLED_APPS:
        module = Path(str(importlib.import_module(name).__file__)).resolve()
        if module.is_relative_to(ROOT) and not module.is_relative_to(Path(sys.prefix).resolve()):
            apps.append(name)
    return apps


def apps_missing_from(top_level: set[str]) -> list[str]:
    """The project's apps that a package with these top-level packages lacks."""
    return [name for name in project_apps() if name.split(".")[0] not in top_level]


def wheel_top_level(context: Path, out: Path) -> set[str]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(out),
            str(context),
        ],
        check=True,
        cwd=out,
        stdout=subprocess.DEVNULL,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist() if "/" in name}


def test_the_apps_are_found_not_listed() -> None:
    assert {"things_portal", "downlinks", "audit", "accounts", "teams"} <= set(project_apps())


def test_a_package_that_leaves_an_app_out_is_caught(tmp_path: Path) -> None:
    """The check below fails when an app folder is left out of the package."""
    context = build_context(tmp_path / "context")
    pyproject = context / "pyproject.toml"
    original = pyproject.read_text()
    narrowed = original.replace('exclude = ["tests*"', 'exclude = ["audit*", "tests*"', 1)
    assert narrowed != original
    pyproject.write_text(narrowed)
    (tmp_path / "wheel").mkdir()
    assert apps_missing_from(wheel_top_level(context, tmp_path / "wheel")) == ["audit"]


@dataclass(frozen=True)
class Installed:
    bin: Path
    run_dir: Path
    env: dict[str, str]
    site_packages: Path

    def python(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "python"), *args],
            cwd=self.run_dir,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.python("-m", "things_portal", *args)


def production_database(folder: Path) -> Iterator[str]:
    """A database of its own for the installed portal: on the suite's PostgreSQL server when
    there is one (CI), else a SQLite file in `folder`."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{folder / 'portal.sqlite3'}"
        return
    import psycopg

    db = connection.settings_dict
    name = f"package_{uuid.uuid4().hex[:8]}"
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db["PORT"]
    dsn = f"postgresql://{user}@{host}:{port or 5432}/postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}@{host}:{port or 5432}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("image")
    context = build_context(base / "src")
    bin_dir = clean_venv(base / "venv")
    pip_install(bin_dir, context)
    run_dir = base / "app"  # the image's WORKDIR: nothing of the source in it
    run_dir.mkdir()
    site_packages = next((base / "venv").glob("lib/python*/site-packages"))
    database = production_database(base)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(base),
        **dockerfile_env(),
        **compose_environment(
            {
                "SECRET_KEY": "a-production-like-secret-key-" + "x" * 40,
                "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "AUDIT_CHAIN_KEYS": secrets.token_urlsafe(32),
                "ALLOWED_HOSTS": HOST,
                "POSTGRES_PASSWORD": "unused",
            }
        ),
        "DATABASE_URL": next(database),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14",
        "THINGS_PORTAL_VAR_DIR": str(base / "var"),
        "STATIC_ROOT": str(base / "staticfiles"),
    }
    yield Installed(bin_dir, run_dir, env, site_packages)
    next(database, None)


def test_every_installed_app_comes_from_the_package(installed: Installed) -> None:
    script = (
        "import importlib, django; django.setup(); from django.conf import settings; "
        "print('\\n'.join(f'{name} {importlib.import_module(name).__file__}' "
        "for name in settings.INSTALLED_APPS))"
    )
    result = installed.python("-c", script)
    assert result.returncode == 0, result.stderr
    where = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    for app in project_apps():
        assert Path(where[app]).is_relative_to(installed.site_packages), (app, where[app])


def test_migrate_collectstatic_and_the_deploy_checks_pass(installed: Installed) -> None:
    for command in (
        ["migrate", "--no-input"],
        ["collectstatic", "--no-input"],
        ["check", "--deploy", "--fail-level", "WARNING"],
    ):
        result = installed.manage(*command)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    manifest = Path(installed.env["STATIC_ROOT"]) / "staticfiles.json"
    assert "js/submit-once.js" in manifest.read_text()


def test_the_image_command_serves_pages_and_its_health_check(installed: Installed) -> None:
    assert installed.manage("migrate", "--no-input").returncode == 0
    assert installed.manage("collectstatic", "--no-input").returncode == 0
    port = free_port()
    command = dockerfile_cmd()
    assert command[0] == "gunicorn"
    server = subprocess.Popen(
        [str(installed.bin / command[0]), *command[1:]],
        cwd=installed.run_dir,
        env={**installed.env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The compose health check, as written there (its port is the container's 8000).
        health = compose()["services"]["web"]["healthcheck"]["test"]
        assert health[:2] == ["CMD", "python"]
        check = [str(installed.bin / "python"), *health[2:]]
        check = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in check]

        def healthy() -> bool:
            return subprocess.run(check, env=installed.env, capture_output=True).returncode == 0

        wait_until(healthy, timeout=60, every=0.2)
        # A page, through the proxy the production settings expect (HTTPS, its host).
        headers = {"Host": HOST, "X-Forwarded-Proto": "https"}
        page = httpx.get(f"http://127.0.0.1:{port}/accounts/sign-in/", headers=headers)
        assert page.status_code == 200
        assert 'name="password"' in page.text
        stylesheet = next(
            part.split('"')[0] for part in page.text.split('href="')[1:] if ".css" in part
        )
        assert httpx.get(f"http://127.0.0.1:{port}{stylesheet}", headers=headers).status_code == 200
        # Plain HTTP to a page (not the health check) is still sent to HTTPS.
        plain = httpx.get(f"http://127.0.0.1:{port}/accounts/sign-in/", headers={"Host": HOST})
        assert plain.status_code == 301
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in (server.stderr.read() if server.stderr else "")


def test_the_dockerfile_installs_the_package_and_keeps_no_source() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "RUN pip install /src && rm -rf /src" in text
    assert "manage.py" not in text  # the image runs `python -m things_portal`
    assert dockerfile_cmd()[:3] == ["gunicorn", "-c", "python:things_portal.gunicorn_conf"]
