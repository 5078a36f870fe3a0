"""The portal's code in a fresh Python process: settings are read once, at start, so a test that
needs them read from an environment of its own (as a deployment sets it) starts a process."""

import subprocess
import sys

from django.conf import settings


def run_python(
    env: dict[str, str], *args: str, timeout: float = 120, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """`python *args` in the project's folder with exactly the variables `env`, its output
    captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
