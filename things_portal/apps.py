import os
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _owner_only_database(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A SQLite database (sessions, the audit trail) is created with the process's umask,
    readable by everyone: keep it the owner's."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name.startswith(("file:", ":memory:")) or not Path(name).exists():
        return
    stat = Path(name).stat()
    if stat.st_uid == os.getuid() and stat.st_mode & 0o077:
        Path(name).chmod(0o600)


class ThingsPortalConfig(AppConfig):
    name = "things_portal"
    verbose_name = "Things Portal"

    def ready(self) -> None:
        from things_portal import checks  # noqa: F401 - registers the deploy checks

        connection_created.connect(_owner_only_database, dispatch_uid="owner-only-sqlite")
