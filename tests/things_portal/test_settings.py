"""Production settings, read in a fresh process from the environment as a deployment sets it:
`check --deploy` has nothing to warn about, and cookies are Secure unless told otherwise."""

import os
import secrets
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.fresh_process import run_python

# What a deployment sets; removed from the inherited environment so each run sets its own.
PROJECT_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "AUDIT_CHAIN_KEYS",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "ALLOWED_HOSTS",
    "THINGS_PORTAL_VAR_DIR",
    "BEHIND_TLS_PROXY",
    # The browser tests set this for Playwright in this process; a deployment never does.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def environment(var_dir: Path, **variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in PROJECT_VARIABLES}
    env["THINGS_PORTAL_VAR_DIR"] = str(var_dir)
    env.update(variables)
    return env


def production(var_dir: Path) -> dict[str, str]:
    return environment(
        var_dir,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        AUDIT_CHAIN_KEYS=secrets.token_urlsafe(32),
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="true",
        ALLOWED_HOSTS="portal.example.com",
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(env, "manage.py", *args)


def test_check_deploy_reports_nothing_with_production_settings(tmp_path: Path) -> None:
    result = manage(production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS:" not in output
    # Nothing was generated under var/: the keys came from the environment.
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "field_encryption_key").exists()
    assert not (tmp_path / "audit_chain_key").exists()


@pytest.mark.parametrize(
    ("missing", "check_id"),
    [
        ("SECRET_KEY", "things_portal.W001"),
        ("FIELD_ENCRYPTION_KEYS", "things_portal.W002"),
        ("AUDIT_CHAIN_KEYS", "audit.W001"),
    ],
)
def test_check_deploy_warns_about_keys_generated_under_var(
    tmp_path: Path, missing: str, check_id: str
) -> None:
    env = production(tmp_path)
    del env[missing]
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert check_id in output
    assert "identified 1 issue" in output


def cookie_settings(env: dict[str, str]) -> str:
    code = (
        "import things_portal.settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE)"
    )
    return run_python(env, "-c", code, timeout=60, check=True).stdout.strip()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"DEBUG": "false"}, "True True True Lax Lax"),
        ({"DEBUG": "true"}, "False False True Lax Lax"),
        ({"DEBUG": "true", "SECURE_COOKIES": "true"}, "True True True Lax Lax"),
        ({"DEBUG": "false", "SECURE_COOKIES": "false"}, "False False True Lax Lax"),
    ],
)
def test_cookies_are_secure_unless_running_over_plain_http(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    assert cookie_settings(environment(tmp_path, **variables)) == expected


def test_a_malformed_encryption_key_stops_the_portal_at_start(tmp_path: Path) -> None:
    env = production(tmp_path)
    env["FIELD_ENCRYPTION_KEYS"] = f"{Fernet.generate_key().decode()},not-a-key"
    result = manage(env, "check", "--deploy")
    assert result.returncode != 0
    assert "things_portal.E001" in result.stderr
    assert "Key 2 in FIELD_ENCRYPTION_KEYS is not a Fernet key" in result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "django.contrib.sessions.backends.db"),
        (
            {"CACHE_URL": "redis://cache.internal:6379/1"},
            "django.contrib.sessions.backends.cached_db",
        ),
    ],
)
def test_sessions_are_read_from_the_cache_only_when_every_process_shares_it(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    env = {name: value for name, value in environment(tmp_path).items() if name != "CACHE_URL"}
    env.update(variables)
    code = "import things_portal.settings as s; print(s.SESSION_ENGINE)"
    assert run_python(env, "-c", code, timeout=60, check=True).stdout.strip() == expected
