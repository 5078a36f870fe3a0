"""What the portal keeps under var/ (the SQLite database with its sessions and audit trail,
the generated keys, the filesystem broker) is its user's only, whatever the umask."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_and_what_the_portal_writes_there_are_the_owners_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)  # made by someone else, too open
    given = {"DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "AUDIT_CHAIN_KEYS", "REDIS_URL"}
    env = {key: value for key, value in os.environ.items() if key not in given}
    env["THINGS_PORTAL_VAR_DIR"] = str(var)
    subprocess.run(
        [sys.executable, "-c", "import os; os.umask(0o022); import runpy; "
         "import sys; sys.argv = ['manage.py', 'migrate', '--no-input', '-v', '0']; "
         "runpy.run_path('manage.py', run_name='__main__')"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
    )  # fmt: skip
    assert mode(var) == 0o700
    for name in ("portal.sqlite3", "secret_key", "field_encryption_key", "audit_chain_key"):
        assert mode(var / name) == 0o600, name
