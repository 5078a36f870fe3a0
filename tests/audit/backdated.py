"""Entries written as if at a chosen time, correctly chained: the trail's writer always uses
the current time, and the tests of time filters need entries at known times."""

from datetime import datetime

from django.db import transaction

from audit.chain import GENESIS_HASH, seal
from audit.keys import newest_key
from audit.models import Action, AuditEntry, ChainHead, Outcome
from audit.trail import TeamRef


def append_at(
    created_at: datetime,
    action: Action = Action.SIGN_IN,
    *,
    team: TeamRef | None = None,
    actor: str = "",
    device_id: str = "",
    summary: str = "",
) -> AuditEntry:
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"sequence": 0, "last_hash": GENESIS_HASH}
        )
        entry = AuditEntry(
            sequence=head.sequence + 1,
            created_at=created_at,
            action=action,
            outcome=Outcome.OK,
            actor_label=actor,
            team_id=team.id if team else None,
            team_label=team.label if team else "",
            device_id=device_id,
            summary=summary,
            previous_hash=head.last_hash,
        )
        seal(entry, newest_key())
        entry.save(force_insert=True)
        head.sequence, head.last_hash = entry.sequence, entry.entry_hash
        head.save(update_fields=["sequence", "last_hash"])
    return entry
