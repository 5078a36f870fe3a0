"""Health of the parts the portal needs: the database and the Celery broker."""

from dataclasses import dataclass

from django.db import connection

from things_portal.celery import app as celery_app


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return Check("database", False, type(error).__name__)
    return Check("database", True, connection.vendor)


def check_broker() -> Check:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
            transport = broker.transport_cls
    except Exception as error:
        return Check("broker", False, type(error).__name__)
    return Check("broker", True, str(transport))


def check_sync() -> Check:
    """How far behind the poller is: for every team with downlinks to follow, the time since
    its last successful sync (or, never synced yet, since its oldest such downlink)."""
    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone

    from downlinks.models import Downlink, SyncState
    from downlinks.polling import teams_with_work

    try:
        now = timezone.now()
        team_ids = teams_with_work()
        # Two grouped queries, however many teams: load balancers ask every few seconds.
        last_synced = dict(
            SyncState.objects.filter(team_id__in=team_ids, last_success_at__isnull=False)
            .values("team_id")
            .annotate(oldest=Min("last_success_at"))
            .values_list("team_id", "oldest")
        )
        first_sent = dict(
            Downlink.objects.filter(team_id__in=team_ids)
            .values("team_id")
            .annotate(oldest=Min("created_at"))
            .values_list("team_id", "oldest")
        )
        ages: list[float] = []
        for team_id in team_ids:
            reference = last_synced.get(team_id) or first_sent.get(team_id)
            if reference is not None:
                ages.append((now - reference).total_seconds())
    except Exception as error:  # any failure means "not healthy"
        return Check("sync", False, type(error).__name__)
    if not ages:
        return Check("sync", True, "nothing to follow")
    age = max(ages)
    healthy = age <= settings.POLL_HEALTH_MAX_AGE_SECONDS
    return Check("sync", healthy, f"oldest last successful sync {age:.0f} s ago")


def run_checks() -> list[Check]:
    return [check_database(), check_broker(), check_sync()]
