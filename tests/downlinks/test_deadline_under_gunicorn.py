"""A hanging Things API under the production web server: gunicorn started with the image's
command and worker timeout (Dockerfile), the simulator holding every answer. The page gives
up within its deadline with a banner in words; the worker is not killed, and the node keeps
answering /healthz meanwhile. Without the deadline, three reads of 10 s outlast the 30 s
worker timeout and the person gets a bare 500 from a killed worker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from simulator.server import RunningSimulator
from tests.downlinks.conftest import Dashboard, make_dashboard, text_of
from tests.polling import wait_until
from tests.ports import free_port
from tests.services import shared_database_url
from tests.teams.world import sign_in
from tests.things_portal.image import dockerfile_cmd, dockerfile_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IMAGE = dockerfile_env()
DEADLINE = float(IMAGE["THINGS_PAGE_DEADLINE_SECONDS"])
WORKER_TIMEOUT = float(IMAGE["GUNICORN_TIMEOUT"])
# Templates and the database on top of the API's deadline, on a busy machine.
MARGIN = 4.0


@pytest.fixture
def world(simulator: RunningSimulator) -> Dashboard:
    return make_dashboard(simulator)


@pytest.fixture
def gunicorn(world: Dashboard, tmp_path: Path) -> Iterator[str]:
    env = {
        **os.environ,
        **IMAGE,
        "DATABASE_URL": shared_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "THINGS_PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "STATIC_ROOT": str(tmp_path / "static"),
        "DEBUG": "false",
        "SECURE_COOKIES": "false",  # plain HTTP between this test and the server
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [f"{Path(sys.executable).parent}/python", "manage.py", "collectstatic", "--no-input"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = dockerfile_cmd()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [f"{Path(sys.executable).parent}/{command[0]}", *command[1:]],
        cwd=tmp_path,  # what runs is the installed project, not a file next to it
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout=60, every=0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        output = (tmp_path / "gunicorn.log").read_text()
        assert "WORKER TIMEOUT" not in output, output
        assert "Traceback" not in output, output


def test_a_hanging_api_gets_a_banner_within_the_deadline(world: Dashboard, gunicorn: str) -> None:
    assert DEADLINE + MARGIN < WORKER_TIMEOUT
    world.fault(kind="timeout", delayMs=(WORKER_TIMEOUT + 10) * 1000, method="GET")
    session = sign_in(Client(), world.viewer_user).cookies[settings.SESSION_COOKIE_NAME]
    answers: list[tuple[httpx.Response, float]] = []

    def open_the_list() -> None:
        with httpx.Client(cookies={settings.SESSION_COOKIE_NAME: session.value}) as browser:
            started = time.monotonic()
            page = browser.get(f"{gunicorn}{world.url('list', 'lora')}", timeout=60)
            answers.append((page, time.monotonic() - started))

    person = threading.Thread(target=open_the_list)
    person.start()
    # Once the page has its token it is waiting on the held search: the node still serves.
    wait_until(lambda: world.calls("POST", "/v2/") >= 1, timeout=30)
    health = httpx.get(f"{gunicorn}/healthz", timeout=DEADLINE)
    assert health.status_code in (200, 503)
    assert person.is_alive()  # answered while the page was still waiting on the API
    person.join(timeout=WORKER_TIMEOUT * 2)

    ((page, took),) = answers
    assert page.status_code == 504
    words = text_of(page.text)
    assert "The Things API did not answer" in words
    assert f"within {DEADLINE:g} seconds" in words
    assert DEADLINE - 1 <= took <= DEADLINE + MARGIN, took  # it waited for the API, then gave up
