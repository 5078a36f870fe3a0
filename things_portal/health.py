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
        ages: list[float] = []
        for team_id in teams_with_work():
            synced = SyncState.objects.filter(team_id=team_id, last_success_at__isnull=False)
            reference = synced.aggregate(oldest=Min("last_success_at"))["oldest"]
            if reference is None:
                reference = Downlink.objects.filter(team_id=team_id).aggregate(
                    oldest=Min("created_at")
                )["oldest"]
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
