"""Fixtures shared by the whole suite, and the CI guard.

In CI (CI=true) the suite must run against the real services: PostgreSQL, Redis and the
system Chromium. If one is missing, the run fails at start instead of skipping what it was
meant to check.
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.services import missing_ci_services


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        problems = missing_ci_services()
        if problems:
            raise pytest.UsageError(
                "CI needs these services and they are missing:\n  - " + "\n  - ".join(problems)
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium; browser tests skip with a message where there is none (not in CI)."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
    if not path:
        pytest.skip("no Chromium found (install Debian's chromium package); browser tests skipped")
    return path


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_manifest() -> Iterator[None]:
    """Production serves hashed static files from a manifest built by collectstatic; tests
    serve them straight from the source folders instead of requiring that build step."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield
