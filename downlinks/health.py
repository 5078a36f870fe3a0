"""The downlinks app's health check: how far behind the poller is."""

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from core.health import Check
from downlinks.models import Downlink, SyncState


def check_sync() -> Check:
    """How far behind the poller is, per team and kind with work to do (downlinks to follow,
    creates to reconcile): the time since its last successful sync, or since that work
    appeared if it is newer. A team whose credential the API refuses is reported, not counted:
    it needs its admin, and this web node can serve it as well as any other."""
    try:
        now = timezone.now()
        # Two grouped queries, however many teams: load balancers ask every few seconds.
        work = (
            Downlink.objects.with_work()
            .order_by()
            .values("team_id", "kind")
            .annotate(oldest=Min("created_at"))
        )
        with_work = {(row["team_id"], row["kind"]): row["oldest"] for row in work}
        states = {
            (state.team_id, state.kind): state
            for state in SyncState.objects.filter(team_id__in={team_id for team_id, _ in with_work})
        }
        ages: list[float] = []
        refused = 0
        for key, oldest_work in with_work.items():
            state = states.get(key)
            if state is not None and state.credential_rejected:
                refused += 1
                continue
            synced = state.last_success_at if state is not None else None
            reference = max(synced, oldest_work) if synced is not None else oldest_work
            ages.append((now - reference).total_seconds())
    except Exception as error:  # any failure means "not healthy"
        return Check("sync", False, type(error).__name__)
    refused_note = (
        f"; {refused} team kind{'s' if refused != 1 else ''} with a refused credential (not "
        "counted)"
        if refused
        else ""
    )
    if not ages:
        return Check("sync", True, f"nothing to follow{refused_note}")
    age = max(ages)
    healthy = age <= settings.POLL_HEALTH_MAX_AGE_SECONDS
    return Check("sync", healthy, f"oldest last successful sync {age:.0f} s ago{refused_note}")
