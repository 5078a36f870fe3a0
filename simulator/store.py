"""Persistence in SQLite (a file, or ":memory:" for tests): downlinks, clients and the key.

One connection guarded by one lock serves every thread of the threaded server; files use WAL
so the management commands can read and write while the simulator runs. Downlink rows carry
their materialized state (status, failure reason, retry count, modifiedAt) so searches can
filter on it; `materialize` applies every transition whose time has passed, and runs before
each request.
"""

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from simulator.clock import iso_from_ms
from simulator.lifecycle import (
    DONE,
    PENDING,
    Kind,
    Plan,
    Scenario,
    Timings,
    next_change_after,
    scenario_for,
    state_at,
)
from simulator.validation import NewDownlink

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS downlinks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    device_id TEXT NOT NULL,
    message TEXT NOT NULL,
    feedback_timeout TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    retry_limit INTEGER,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    cancel_requested_ms INTEGER,
    scenario TEXT NOT NULL,
    timings TEXT NOT NULL,
    next_change_ms INTEGER
);
CREATE INDEX IF NOT EXISTS downlinks_by_created ON downlinks (tenant_id, kind, created_ms);
CREATE INDEX IF NOT EXISTS downlinks_by_modified ON downlinks (tenant_id, kind, modified_ms);
CREATE INDEX IF NOT EXISTS downlinks_due ON downlinks (next_change_ms)
    WHERE next_change_ms IS NOT NULL;
"""
_HASH_ITERATIONS = 100_000
_SIGNING_KEY = "signing_key"


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _HASH_ITERATIONS)
    return f"pbkdf2_sha256${_HASH_ITERATIONS}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        _, iterations, salt, expected = stored.split("$")
        digest = hashlib.pbkdf2_hmac(
            "sha256", secret.encode(), bytes.fromhex(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


@dataclass(frozen=True)
class ClientRecord:
    """A registered OAuth2 client (its secret is kept only as a hash)."""

    client_id: str
    tenant_id: str
    scopes: tuple[str, ...]
    revoked: bool

    def __repr__(self) -> str:
        return f"ClientRecord(client_id={self.client_id!r}, tenant_id={self.tenant_id!r})"


@dataclass(frozen=True)
class DownlinkRecord:
    id: str
    tenant_id: str
    kind: Kind
    device_id: str
    message: dict[str, Any]
    feedback_timeout: str
    dry_run: bool
    retry_limit: int | None
    created_ms: int
    modified_ms: int
    status: str
    failure_reason: str | None
    retry_count: int
    cancel_requested_ms: int | None
    scenario: Scenario
    timings: Timings

    @property
    def plan(self) -> Plan:
        return Plan(self.created_ms, self.scenario, self.timings, self.cancel_requested_ms)

    def as_api(self) -> dict[str, Any]:
        """The downlink as the API shows it (spec schema, camelCase)."""
        body: dict[str, Any] = {
            "id": self.id,
            "deviceId": self.device_id,
            "message": dict(self.message),
            "status": self.status,
        }
        if self.kind is Kind.LORA:
            body["retryLimit"] = self.retry_limit or 0
            body["retryCount"] = self.retry_count
        body["createdAt"] = iso_from_ms(self.created_ms)
        body["modifiedAt"] = iso_from_ms(self.modified_ms)
        body["feedbackTimeout"] = self.feedback_timeout
        body["dryRun"] = self.dry_run
        if self.failure_reason is not None:
            body["lastFailureReason"] = self.failure_reason
        return body


@dataclass(frozen=True)
class DownlinkFilter:
    """Search filters; instants in microseconds since the epoch. Since: >=, Before: <."""

    device_id: str | None = None
    created_before_us: int | None = None
    created_since_us: int | None = None
    modified_before_us: int | None = None
    modified_since_us: int | None = None
    status: str | None = None


class CancelOutcome(Enum):
    ACCEPTED = "accepted"
    NOT_FOUND = "not found"
    EXECUTING = "already executing"
    DONE = "already done"


def _ceil_ms(us: int) -> int:
    return -(-us // 1000)


class Store:
    """The simulator's SQLite store; safe to share between threads."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- The signing key -------------------------------------------------------------------

    def signing_key(self) -> str:
        """The persisted JWT signing key, generated on first use."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)",
                (_SIGNING_KEY, secrets.token_urlsafe(48)),
            )
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (_SIGNING_KEY,)).fetchone()
        return str(row["value"])

    # --- Clients ---------------------------------------------------------------------------

    def register_client(
        self, tenant_id: str, client_id: str, client_secret: str, scopes: tuple[str, ...]
    ) -> ClientRecord:
        """Register a client, or update its tenant, secret and scopes (and un-revoke it)."""
        secret_hash = hash_secret(client_secret)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO clients (client_id, tenant_id, secret_hash, scopes, revoked)"
                " VALUES (?, ?, ?, ?, 0) ON CONFLICT (client_id) DO UPDATE SET"
                " tenant_id = excluded.tenant_id, secret_hash = excluded.secret_hash,"
                " scopes = excluded.scopes, revoked = 0",
                (client_id, tenant_id, secret_hash, " ".join(scopes)),
            )
        return ClientRecord(client_id, tenant_id, tuple(scopes), revoked=False)

    def revoke_client(self, client_id: str) -> bool:
        """Revoke a client; False if there is no such client."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE clients SET revoked = 1 WHERE client_id = ?", (client_id,)
            )
        return cursor.rowcount > 0

    def find_client(self, client_id: str) -> ClientRecord | None:
        row = self._fetch_client(client_id)
        return None if row is None else self._client(row)

    def authenticate_client(
        self, tenant_id: str, client_id: str, client_secret: str
    ) -> ClientRecord | None:
        """The client if it exists in this tenant, is not revoked and the secret matches."""
        row = self._fetch_client(client_id)
        # The hash is computed even for an unknown client, so timing does not tell them apart.
        stored = row["secret_hash"] if row is not None else hash_secret("")
        matches = secret_matches(client_secret, stored)
        if row is None or not matches or row["revoked"] or row["tenant_id"] != tenant_id:
            return None
        return self._client(row)

    def _fetch_client(self, client_id: str) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(
                "SELECT * FROM clients WHERE client_id = ?", (client_id,)
            ).fetchone()
        return row

    @staticmethod
    def _client(row: sqlite3.Row) -> ClientRecord:
        return ClientRecord(
            client_id=row["client_id"],
            tenant_id=row["tenant_id"],
            scopes=tuple(row["scopes"].split()),
            revoked=bool(row["revoked"]),
        )

    # --- Downlinks -------------------------------------------------------------------------

    def create_downlink(
        self, tenant_id: str, new: NewDownlink, timings: Timings, now_ms: int
    ) -> DownlinkRecord:
        scenario = scenario_for(
            new.kind, new.payload, dry_run=new.dry_run, retry_limit=new.retry_limit or 0
        )
        plan = Plan(now_ms, scenario, timings)
        state = state_at(plan, now_ms)
        record = DownlinkRecord(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            kind=new.kind,
            device_id=new.device_id,
            message=new.message,
            feedback_timeout=new.feedback_timeout,
            dry_run=new.dry_run,
            retry_limit=new.retry_limit,
            created_ms=now_ms,
            modified_ms=state.since_ms,
            status=state.status,
            failure_reason=state.failure_reason,
            retry_count=state.retry_count,
            cancel_requested_ms=None,
            scenario=scenario,
            timings=timings,
        )
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO downlinks (id, tenant_id, kind, device_id, message,"
                " feedback_timeout, dry_run, retry_limit, created_ms, modified_ms, status,"
                " failure_reason, retry_count, cancel_requested_ms, scenario, timings,"
                " next_change_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    tenant_id,
                    new.kind.value,
                    record.device_id,
                    json.dumps(record.message),
                    record.feedback_timeout,
                    int(record.dry_run),
                    record.retry_limit,
                    record.created_ms,
                    record.modified_ms,
                    record.status,
                    record.failure_reason,
                    record.retry_count,
                    None,
                    scenario.to_json(),
                    timings.to_json(),
                    next_change_after(plan, now_ms),
                ),
            )
        return record

    def materialize(self, now_ms: int) -> int:
        """Apply every transition due by `now_ms`; returns how many downlinks changed."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM downlinks WHERE next_change_ms IS NOT NULL AND next_change_ms <= ?",
                (now_ms,),
            ).fetchall()
            for row in rows:
                self._apply(conn, self._record(row).plan, row["id"], now_ms)
        return len(rows)

    @staticmethod
    def _apply(conn: sqlite3.Connection, plan: Plan, downlink_id: str, now_ms: int) -> None:
        state = state_at(plan, now_ms)
        conn.execute(
            "UPDATE downlinks SET status = ?, failure_reason = ?, retry_count = ?,"
            " modified_ms = ?, cancel_requested_ms = ?, next_change_ms = ? WHERE id = ?",
            (
                state.status,
                state.failure_reason,
                state.retry_count,
                state.since_ms,
                plan.cancel_requested_ms,
                next_change_after(plan, now_ms),
                downlink_id,
            ),
        )

    def get_downlink(self, kind: Kind, tenant_id: str, downlink_id: str) -> DownlinkRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM downlinks WHERE id = ? AND kind = ? AND tenant_id = ?",
                (downlink_id, kind.value, tenant_id),
            ).fetchone()
        return None if row is None else self._record(row)

    def search_downlinks(
        self, kind: Kind, tenant_id: str, where: DownlinkFilter
    ) -> list[DownlinkRecord]:
        """The tenant's downlinks of this kind that pass the filter, in no particular order."""
        clauses = ["tenant_id = ?", "kind = ?"]
        params: list[object] = [tenant_id, kind.value]
        for column, value, operator in (
            ("device_id", where.device_id, "="),
            ("status", where.status, "="),
            ("created_ms", where.created_before_us, "<"),
            ("created_ms", where.created_since_us, ">="),
            ("modified_ms", where.modified_before_us, "<"),
            ("modified_ms", where.modified_since_us, ">="),
        ):
            if value is None:
                continue
            clauses.append(f"{column} {operator} ?")
            params.append(_ceil_ms(value) if isinstance(value, int) else value)
        sql = "SELECT * FROM downlinks WHERE " + " AND ".join(clauses)  # noqa: S608 (fixed names)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [self._record(row) for row in rows]

    def request_cancel(
        self, kind: Kind, tenant_id: str, downlink_id: str, *, forced: bool, now_ms: int
    ) -> CancelOutcome:
        """Accept a cancellation if the status permits it (see lifecycle for the timing)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT * FROM downlinks WHERE id = ? AND kind = ? AND tenant_id = ?",
                (downlink_id, kind.value, tenant_id),
            ).fetchone()
            if row is None:
                return CancelOutcome.NOT_FOUND
            record = self._record(row)
            state = state_at(record.plan, now_ms)
            if state.status == DONE:
                return CancelOutcome.DONE
            if record.cancel_requested_ms is not None:
                return CancelOutcome.ACCEPTED
            if state.status != PENDING and not forced:
                return CancelOutcome.EXECUTING
            plan = replace(record.plan, cancel_requested_ms=now_ms)
            self._apply(conn, plan, record.id, now_ms)
        return CancelOutcome.ACCEPTED

    def wipe_downlinks(self) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM downlinks")

    @staticmethod
    def _record(row: sqlite3.Row) -> DownlinkRecord:
        return DownlinkRecord(
            id=row["id"],
            tenant_id=row["tenant_id"],
            kind=Kind(row["kind"]),
            device_id=row["device_id"],
            message=json.loads(row["message"]),
            feedback_timeout=row["feedback_timeout"],
            dry_run=bool(row["dry_run"]),
            retry_limit=row["retry_limit"],
            created_ms=row["created_ms"],
            modified_ms=row["modified_ms"],
            status=row["status"],
            failure_reason=row["failure_reason"],
            retry_count=row["retry_count"],
            cancel_requested_ms=row["cancel_requested_ms"],
            scenario=Scenario.from_json(row["scenario"]),
            timings=Timings.from_json(row["timings"]),
        )
