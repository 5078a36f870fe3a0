"""Migrating a trail written before keyed hashing: no row is rewritten, the entries keep
verifying, and the triggers are all in place afterwards (on SQLite, adding the key id column
copies the table, which drops its triggers: the migration creates them again).

Runs `manage.py` in a fresh process on a SQLite database of its own under a temporary var/,
whatever database the suite itself uses.
"""

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from audit.chain import GENESIS_HASH, entry_hash
from audit.models import Action, AuditEntry
from tests.audit.conftest import FIRST_KEY, SQLITE_TRIGGERS

pytestmark = pytest.mark.slow

LEGACY_ENTRIES = 3
# The columns of an entry before keyed hashing (audit 0002/0003).
COLUMNS = (
    "sequence",
    "created_at",
    "action",
    "phase",
    "outcome",
    "actor_label",
    "team_id",
    "team_label",
    "target_kind",
    "target_id",
    "device_id",
    "summary",
    "asked",
    "answered",
    "ip_address",
    "user_agent",
    "previous_hash",
    "entry_hash",
)
VERIFY_WITHOUT_AND_WITH_A_KEY = f"""
from django.conf import settings
from django.core.management import CommandError, call_command
from audit.models import Action
from audit.trail import Origin, record
settings.AUDIT_CHAIN_KEYS = []
call_command("verify_audit")
settings.AUDIT_CHAIN_KEYS = [{FIRST_KEY!r}]
try:
    call_command("verify_audit")
except CommandError as error:
    print("before:", error)
record(Action.SIGN_IN, origin=Origin(None, "after the migration"))
call_command("verify_audit")
"""


def manage(var_dir: Path, *args: str) -> str:
    project = ("DATABASE_URL", "AUDIT_CHAIN_KEYS", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS")
    env = {name: value for name, value in os.environ.items() if name not in project}
    env["THINGS_PORTAL_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def legacy_rows() -> list[tuple[object, ...]]:
    """Entries as the portal wrote them before keyed hashing: plain SHA-256."""
    rows, previous = [], GENESIS_HASH
    for index in range(LEGACY_ENTRIES):
        entry = AuditEntry(
            sequence=index + 1,
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=index),
            action=Action.MEMBER_ADDED,
            outcome="ok",
            actor_label="alice",
            team_id=7,
            team_label="lighthouse",
            summary=f"legacy entry {index + 1}",
            asked={"index": index},
            ip_address="192.0.2.1",
            user_agent="agent",
            previous_hash=previous,
        )
        entry.entry_hash = previous = entry_hash(entry, previous)
        values = {name: getattr(entry, name) for name in COLUMNS}
        values["created_at"] = entry.created_at.replace(tzinfo=None).isoformat(" ")
        values["asked"], values["answered"] = f'{{"index": {index}}}', "{}"
        rows.append(tuple(values[name] for name in COLUMNS))
    return rows


def stored(database: Path) -> tuple[list[tuple[object, ...]], set[str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT sequence, entry_hash, key_id FROM audit_auditentry ORDER BY sequence"
        ).fetchall()
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    return rows, {name for (name,) in triggers}


def test_a_trail_from_before_keyed_hashing_migrates_without_a_rewrite(tmp_path: Path) -> None:
    database = tmp_path / "portal.sqlite3"
    manage(tmp_path, "migrate", "audit", "0002_append_only", "--no-input", "-v", "0")
    rows = legacy_rows()
    with sqlite3.connect(database) as db:
        placeholders = ", ".join("?" * len(COLUMNS))
        db.executemany(
            f"INSERT INTO audit_auditentry ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )
        db.execute(
            "INSERT INTO audit_chainhead (id, sequence, last_hash) VALUES (1, ?, ?)",
            [LEGACY_ENTRIES, rows[-1][-1]],
        )

    manage(tmp_path, "migrate", "--no-input", "-v", "0")

    entries, triggers = stored(database)
    assert entries == [(row[0], row[-1], "") for row in rows]
    assert triggers == set(SQLITE_TRIGGERS)
    output = manage(tmp_path, "shell", "-c", VERIFY_WITHOUT_AND_WITH_A_KEY)
    assert "intact: 3 entries" in output  # without a key, as before the migration
    assert "before: The audit trail is broken at entry #3: it is the newest entry" in output
    assert "intact: 4 entries" in output
    assert "Entries #1 to #3 were hashed without a key" in output

    # And back: the entries' triggers stay, the head's go with the migration.
    manage(tmp_path, "migrate", "audit", "0003", "--no-input", "-v", "0")
    entries, triggers = stored_before_key_ids(database)
    assert len(entries) == LEGACY_ENTRIES + 1
    assert triggers == {"audit_entries_no_delete", "audit_entries_no_update"}


def stored_before_key_ids(database: Path) -> tuple[list[tuple[object, ...]], set[str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT sequence, entry_hash FROM audit_auditentry").fetchall()
        triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    return rows, {name for (name,) in triggers}
