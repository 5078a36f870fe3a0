"""TRUSTED_PROXY_COUNT as a deployment sets it, read in a fresh process: one proxy by default
behind our TLS proxy, none otherwise, and a negative count stops the portal at start."""

import subprocess
from pathlib import Path

import pytest

from tests.fresh_process import run_python
from tests.things_portal.test_settings import environment

CODE = "import things_portal.settings as s; print(s.TRUSTED_PROXY_COUNT, s.SECURE_PROXY_SSL_HEADER)"


def read(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = environment(tmp_path, **variables)
    if "TRUSTED_PROXY_COUNT" not in variables:
        env.pop("TRUSTED_PROXY_COUNT", None)
    return run_python(env, "-c", CODE, timeout=60)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "0 None"),
        ({"BEHIND_TLS_PROXY": "true"}, "1 ('HTTP_X_FORWARDED_PROTO', 'https')"),
        (
            {"BEHIND_TLS_PROXY": "true", "TRUSTED_PROXY_COUNT": "0"},
            "0 ('HTTP_X_FORWARDED_PROTO', 'https')",
        ),
        ({"TRUSTED_PROXY_COUNT": "2"}, "2 None"),
    ],
)
def test_the_proxy_count_follows_the_tls_proxy_unless_set(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    result = read(tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_negative_proxy_count_stops_the_portal(tmp_path: Path) -> None:
    result = read(tmp_path, TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be 0 or more, not -1." in result.stderr
