"""Migrating a trail written before keyed hashing: no row is rewritten, the entries keep
verifying, and the triggers are all in place afterwards (on SQLite, adding the key id column
copies the table, which drops its triggers: the migration creates them again).

Runs `manage.py` in a fresh process on a SQLite database of its own under a temporary var/,
whatever database the suite itself uses.
"""

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.chain import GENESIS_HASH, entry_hash
from audit.models import Action, AuditEntry
from tests.audit.conftest import FIRST_KEY, SQLITE_TRIGGERS
from tests.fresh_process import run_python

pytestmark = pytest.mark.slow

LEGACY_ENTRIES = 3
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
    result = run_python(env, "manage.py", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def columns_of_entries(database: Path) -> list[str]:
    """The columns of the entries' table in `database` (the id aside), read from the table: so
    the legacy rows fill it as it is at the migration it stands at, not as the model is today."""
    with sqlite3.connect(database) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(audit_auditentry)")]
    return [name for name in columns if name != "id"]


def legacy_rows(columns: list[str]) -> list[dict[str, object]]:
    """Entries as the portal wrote them before keyed hashing (plain SHA-256), by column."""
    rows: list[dict[str, object]] = []
    previous = GENESIS_HASH
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
        values = {name: getattr(entry, name) for name in columns}
        values["created_at"] = entry.created_at.replace(tzinfo=None).isoformat(" ")
        values["asked"], values["answered"] = f'{{"index": {index}}}', "{}"
        rows.append(values)
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
    columns = columns_of_entries(database)
    assert "key_id" not in columns
    rows = legacy_rows(columns)
    with sqlite3.connect(database) as db:
        placeholders = ", ".join(f":{name}" for name in columns)
        db.executemany(
            f"INSERT INTO audit_auditentry ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )
        db.execute(
            "INSERT INTO audit_chainhead (id, sequence, last_hash) VALUES (1, ?, ?)",
            [LEGACY_ENTRIES, rows[-1]["entry_hash"]],
        )

    manage(tmp_path, "migrate", "--no-input", "-v", "0")

    entries, triggers = stored(database)
    assert entries == [(row["sequence"], row["entry_hash"], "") for row in rows]
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
