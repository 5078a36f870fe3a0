"""A lock per team with an expiry, in the database, so one poll runs at a time per team.

Taking it is one conditional UPDATE (free, or expired), which the database makes atomic on
PostgreSQL and SQLite alike, also across beat processes, workers and machines. Only its owner
releases or extends it (the owner token is checked in the same statement), so a cycle that
outlived its lock cannot release someone else's. A crashed worker's lock simply expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from downlinks.models import PollLock


class LockLost(Exception):
    """The lock expired and someone else may hold it now: stop what you are doing."""


class TeamPollLock:
    def __init__(self, team_id: int, owner: str, ttl: timedelta) -> None:
        self.team_id = team_id
        self.owner = owner
        self.ttl = ttl
        self._extended_at = timezone.now()

    def extend(self) -> None:
        now = timezone.now()
        updated = PollLock.objects.filter(team_id=self.team_id, owner=self.owner).update(
            locked_until=now + self.ttl
        )
        if not updated:
            raise LockLost(f"the poll lock of team {self.team_id} was lost")
        self._extended_at = now

    def keep_alive(self) -> None:
        """Extend the lock when a third of its time has gone by."""
        if timezone.now() - self._extended_at > self.ttl / 3:
            self.extend()

    def release(self) -> None:
        PollLock.objects.filter(team_id=self.team_id, owner=self.owner).update(
            owner="", locked_until=None
        )


def _ensure_row(team_id: int) -> None:
    if not PollLock.objects.filter(team_id=team_id).exists():
        try:
            with transaction.atomic():
                PollLock.objects.create(team_id=team_id)
        except IntegrityError:
            pass  # Another process created it at the same moment.


@contextmanager
def team_poll_lock(team_id: int, ttl: timedelta) -> Iterator[TeamPollLock | None]:
    """Yields the lock if it was free (or expired), None if someone else holds it."""
    _ensure_row(team_id)
    owner = secrets.token_hex(16)
    now = timezone.now()
    taken = (
        PollLock.objects.filter(team_id=team_id)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(owner=owner, locked_until=now + ttl)
    )
    if not taken:
        yield None
        return
    lock = TeamPollLock(team_id, owner, ttl)
    try:
        yield lock
    finally:
        lock.release()
