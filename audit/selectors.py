"""Reading the audit trail."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from audit.models import AuditEntry, Phase


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    action: str = ""
    device_id: str = ""
    since: datetime | None = None
    before: datetime | None = None


def audit_entries(*, team_id: int | None, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries newest first; `team_id=None` means every team (superusers only).

    Each entry carries `has_outcome`: an attempt without one is shown as "outcome unknown".
    """
    entries = AuditEntry.objects.all()
    if team_id is not None:
        entries = entries.filter(team_id=team_id)
    if filters.person:
        entries = entries.filter(actor_label__iexact=filters.person)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.device_id:
        entries = entries.filter(device_id__iexact=filters.device_id)
    if filters.since is not None:
        entries = entries.filter(created_at__gte=filters.since)
    if filters.before is not None:
        entries = entries.filter(created_at__lt=filters.before)
    outcomes = AuditEntry.objects.filter(phase=Phase.OUTCOME, attempt_sequence=OuterRef("sequence"))
    return entries.annotate(has_outcome=Exists(outcomes)).order_by("-sequence")
