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


def run_checks() -> list[Check]:
    return [check_database(), check_broker()]
