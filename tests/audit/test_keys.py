"""The chain keys: from the environment in production, generated once under var/ for
`make run` (and then a deploy check warns), and checked to be secrets."""

import os
import stat
from pathlib import Path
from typing import Any

from django.core.checks import Tags, run_checks

from audit.keys import KEY_MIN_LENGTH, keys_from_env_or_file
from tests.at_once import at_once
from tests.audit.conftest import FIRST_KEY, SECOND_KEY


def check_ids(*, deploy: bool) -> set[str]:
    messages = run_checks(tags=[Tags.security], include_deployment_checks=deploy)
    return {message.id or "" for message in messages}


def test_keys_from_the_environment_are_used_as_they_are(tmp_path: Path) -> None:
    key_file = tmp_path / "audit_chain_key"

    assert keys_from_env_or_file([SECOND_KEY, FIRST_KEY], key_file) == (
        [SECOND_KEY, FIRST_KEY],
        False,
    )
    assert not key_file.exists()


def test_without_keys_in_the_environment_one_is_generated_once(tmp_path: Path) -> None:
    key_file = tmp_path / "audit_chain_key"
    umask = os.umask(0)  # whatever the umask, the file is the owner's only
    try:
        keys, from_file = keys_from_env_or_file([], key_file)
    finally:
        os.umask(umask)

    assert from_file is True
    assert len(keys) == 1
    assert len(keys[0]) >= KEY_MIN_LENGTH
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert keys_from_env_or_file([], key_file) == (keys, True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit_chain_key"]


def test_processes_starting_together_agree_on_one_generated_key(tmp_path: Path) -> None:
    key_file = tmp_path / "audit_chain_key"

    def start() -> list[str]:
        return keys_from_env_or_file([], key_file)[0]

    found = [key for keys in at_once([start] * 8) for key in keys]
    assert len(found) == 8
    assert len(set(found)) == 1
    assert found[0] == key_file.read_text()


def test_the_deploy_check_warns_about_a_key_generated_under_var(settings: Any) -> None:
    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY]
    settings.AUDIT_CHAIN_KEYS_FROM_FILE = True
    assert "audit.W001" in check_ids(deploy=True)
    assert "audit.W001" not in check_ids(deploy=False)

    settings.AUDIT_CHAIN_KEYS_FROM_FILE = False
    assert "audit.W001" not in check_ids(deploy=True)


def test_short_or_repeated_keys_are_errors(settings: Any) -> None:
    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY, SECOND_KEY]
    assert not {"audit.E001", "audit.E002"} & check_ids(deploy=False)

    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY, "short"]
    assert "audit.E001" in check_ids(deploy=False)

    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY, FIRST_KEY]
    assert "audit.E002" in check_ids(deploy=False)
