"""Browser tests: the system Chromium, driven by Playwright, against a live portal and simulator.

The browser is launched once per session; every test gets fresh contexts (no shared cookies).
Every page opened in a test is watched: a console error, an uncaught exception or a Content
Security Policy violation fails the test when it ends.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from django.conf import LazySettings, settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from benchmarks.simulated_team import team_on_simulator
from simulator.server import RunningSimulator
from teams.models import Role, Team
from tests.e2e.accessibility import serious_violations
from tests.teams.world import join, make_user, sign_in

# pytest-django's live server runs in a thread of this process, and Playwright's sync API runs
# an event loop in this one: Django would otherwise refuse database access "from async".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TENANT = "e2e-tenant"
# The widths every page must work at: a laptop and a phone (each with a usual height).
DESKTOP_WIDTH, PHONE_WIDTH = 1366, 390
HEIGHT_AT = {DESKTOP_WIDTH: 768, PHONE_WIDTH: 844}
WIDTHS = pytest.mark.parametrize("width", [DESKTOP_WIDTH, PHONE_WIDTH], ids=["laptop", "phone"])
# Generous, for a busy machine: `expect` polls, and returns as soon as the page is right.
expect.set_options(timeout=10_000)
# Reported by the page itself, so a CSP violation is seen even if Chromium logged it otherwise.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class BrowserProblems:
    """Console errors, uncaught exceptions and CSP violations seen on any page of a test.

    A page answered with an error status on purpose (a 403, a 409) makes Chromium log
    "Failed to load resource"; a test names each such answer with `expect_status`.
    """

    seen: list[str] = field(default_factory=list)
    expected: set[tuple[int, str]] = field(default_factory=set)
    expected_logs: set[str] = field(default_factory=set)

    def expect_log(self, text: str) -> None:
        """Tolerate console errors that start with `text` (htmx logs a request aborted on
        purpose, as "Stop waiting" does, as an error)."""
        self.expected_logs.add(text)

    def expect_status(self, status: int, path: str) -> None:
        """Tolerate Chromium's console error for an answer `status` from a URL with `path`."""
        self.expected.add((status, path))

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.seen.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        if any(message.text.startswith(text) for text in self.expected_logs):
            return
        if message.text.startswith("Failed to load resource") and any(
            f"status of {status} " in message.text and path in url for status, path in self.expected
        ):
            return
        self.seen.append(f"console error on {url or 'the page'}: {message.text}")


@pytest.fixture(autouse=True)
def browser_problems() -> Iterator[BrowserProblems]:
    problems = BrowserProblems()
    yield problems
    assert not problems.seen, "the browser reported problems:\n" + "\n".join(problems.seen)


@dataclass
class Portal:
    """A live portal with a team whose credential points at the live simulator."""

    url: str
    team: Team
    operator: User
    viewer: User
    admin: User
    simulator: RunningSimulator
    browser: Browser
    problems: BrowserProblems
    contexts: list[BrowserContext] = field(default_factory=list)

    def team_url(self, path: str = "") -> str:
        return f"{self.url}/t/{self.team.slug}/{path}"

    def new_context(self, width: int = DESKTOP_WIDTH) -> BrowserContext:
        context = self.browser.new_context(
            base_url=self.url, viewport={"width": width, "height": HEIGHT_AT.get(width, 1080)}
        )
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_REPORTER)
        context.on("page", self.problems.watch)
        self.contexts.append(context)
        return context

    def signed_in(self, user: User, width: int = DESKTOP_WIDTH) -> Page:
        """A new page in a new context `width` pixels wide, signed in as `user` (the session
        cookie is put in directly: the sign-in page itself is driven in its own test)."""
        client = sign_in(Client(), user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context = self.new_context(width)
        context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": self.url, "httpOnly": True}]
        )
        return context.new_page()

    def create_via_api(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """A downlink made straight through the simulator's API (not through the portal)."""
        response = httpx.post(
            f"{self.simulator.url}/{kind}/downlinks",
            json=body,
            headers={"Authorization": f"Bearer {self.simulator.token(TENANT)}"},
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def clear_simulator_requests(self) -> None:
        httpx.delete(f"{self.simulator.url}/_sim/requests").raise_for_status()

    def simulator_requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.simulator.url}/_sim/requests").json()[
            "items"
        ]
        return answer


@pytest.fixture
def portal(
    browser: Browser,  # first, so a missing Chromium skips before a server starts
    live_server: Any,
    simulator: RunningSimulator,
    browser_problems: BrowserProblems,
) -> Iterator[Portal]:
    team = team_on_simulator(simulator, "e2e", "E2E Metering", tenant_id=TENANT)
    people = {role: make_user(f"e2e-{role.value}") for role in Role}
    for role, user in people.items():
        join(user, team, role)
    portal = Portal(
        url=live_server.url,
        team=team,
        operator=people[Role.OPERATOR],
        viewer=people[Role.VIEWER],
        admin=people[Role.ADMIN],
        simulator=simulator,
        browser=browser,
        problems=browser_problems,
    )
    yield portal
    for context in portal.contexts:
        # Every page a test leaves open, in the state the test left it: axe-core finds no
        # serious or critical violation (tests/e2e/test_layout.py checks each main page too).
        for page in context.pages:
            if page.url.startswith("http"):
                page.wait_for_load_state()
                browser_problems.seen.extend(serious_violations(page))
        context.close()


@pytest.fixture
def fast_hashing(settings: LazySettings) -> None:
    """The production hasher takes most of a second per password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def status_after_click(page: Page, button: str, url: str) -> int:
    """Clicks the button named `button` and returns the status of the answer to the request
    that the click makes to a URL matching `url` (a regular expression)."""
    with page.expect_response(re.compile(url)) as answer:
        page.get_by_role("button", name=button).click()
    return answer.value.status


def lora_body(device_id: str, payload_hex: str = "01", **extra: Any) -> dict[str, Any]:
    return {
        "deviceId": device_id,
        "message": {"payloadHex": payload_hex, "fPort": 1},
        "feedbackTimeout": "PT1H",
        **extra,
    }


def open_filters(page: Page) -> None:
    """On a phone a list's filters are folded away (after each answer too): open them, as a
    person would. Wider, they are open already."""
    fold = page.locator("details.filters-fold")
    if fold.count() and fold.get_attribute("open") is None:
        fold.locator("summary").click()
