"""Checks that the services CI relies on are there and answering."""

import os
import shutil
import socket
from urllib.parse import quote, urlparse

from django.conf import settings
from django.db import connection


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def missing_ci_services() -> list[str]:
    problems: list[str] = []
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        problems.append(
            f"DATABASE_URL must point at PostgreSQL in CI (engine is {database['ENGINE']})"
        )
    elif not _answers(database.get("HOST") or "127.0.0.1", int(database.get("PORT") or 5432)):
        problems.append("PostgreSQL is not answering")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        problems.append("REDIS_URL is not set (Celery must use Redis in CI)")
    else:
        parsed = urlparse(redis_url)
        if not _answers(parsed.hostname or "127.0.0.1", parsed.port or 6379):
            problems.append("Redis is not answering")
    if not (os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")):
        problems.append("Chromium is not installed (apt-get install chromium)")
    return problems


def shared_database_url() -> str:
    """The test database, for processes outside this one (a worker, a web server)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
