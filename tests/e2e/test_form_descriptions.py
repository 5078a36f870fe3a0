"""Every form a person can reach, in Chromium: each control has a label, each help text and
error is tied to its control by `aria-describedby`, and every id it names exists.

The pages are found by following the portal's own links from the start page as an admin of a
team with a downlink of each kind (so a new page is checked without being listed here), and
each send form is also checked after a submit with nothing filled in (its errors shown).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Portal, lora_body

pytestmark = pytest.mark.browser

# Run in the page: what a screen reader could not connect.
DESCRIPTION_PROBLEMS = """
() => {
  const problems = [];
  const describing = new Map();
  for (const element of document.querySelectorAll("[aria-describedby]")) {
    for (const id of element.getAttribute("aria-describedby").split(/\\s+/).filter(Boolean)) {
      describing.set(id, element);
      if (!document.getElementById(id)) {
        problems.push(`${element.name || element.id}: aria-describedby names a missing #${id}`);
      }
    }
  }
  // Help text and field errors inside a form: each must describe some control.
  for (const form of document.querySelectorAll("form")) {
    for (const note of form.querySelectorAll("small, .helptext, .field-error")) {
      if (note.closest("[role=status]") || note.classList.contains("htmx-indicator")) continue;
      if (note.id === "form_errors") continue;  // the form's own errors, not a field's
      if (!note.id) {
        problems.push(`a note without an id: "${note.textContent.trim().slice(0, 60)}"`);
      } else if (!describing.has(note.id)) {
        problems.push(`#${note.id} describes no control`);
      }
    }
  }
  for (const control of document.querySelectorAll(
    "input:not([type=hidden]), select, textarea"
  )) {
    const labelled = (control.labels && control.labels.length) ||
      control.getAttribute("aria-label") || control.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`${control.name || control.id} has no label`);
  }
  return problems;
}
"""


def problems_on(page: Page) -> list[str]:
    found: list[str] = page.evaluate(DESCRIPTION_PROBLEMS)
    return [f"{urlsplit(page.url).path}: {problem}" for problem in found]


def portal_pages(page: Page, portal: Portal, limit: int = 60) -> list[str]:
    """The portal's pages reachable by links from the start page, by path (a page's sort and
    cursor variants are the same page)."""
    seen: set[str] = set()
    queue = [f"{portal.url}/"]
    pages: list[str] = []
    while queue and len(pages) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(url)
        if response is None or response.status != 200:
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        pages.append(url)
        links: list[str] = page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(link => link.href)"
        )
        for link in links:
            parts = urlsplit(link)
            if f"{parts.scheme}://{parts.netloc}" != portal.url:
                continue
            if parts.path.startswith(("/admin/", "/static/")) or parts.path in seen:
                continue
            queue.append(link)
    return pages


def test_every_form_ties_its_help_and_errors_to_its_controls(portal: Portal) -> None:
    portal.create_via_api("lora", lora_body("deveui:0123456789abcdef"))
    page = portal.signed_in(portal.admin)
    pages = portal_pages(page, portal)
    problems: list[str] = []
    forms_seen = 0
    for url in pages:
        page.goto(url)
        forms_seen += page.locator("main form").count()
        problems.extend(problems_on(page))
        text = page.locator("body").inner_text()
        # A template comment or tag that did not parse shows as text.
        problems.extend(f"{url}: template syntax shown" for mark in ("{#", "{%") if mark in text)
    # The crawl reached the pages with forms: the lists' filters, the send forms, the team's
    # members and credential, the audit trail, the password change.
    paths = {urlsplit(url).path for url in pages}
    assert {"/lora/new", "/mqtt/new", "/credential/", "/members/", "/audit/"} <= {
        path.removeprefix(f"/t/{portal.team.slug}") for path in paths
    }, sorted(paths)
    assert forms_seen >= len(pages) // 2

    for kind in ("lora", "mqtt"):
        portal.problems.expect_status(400, f"/{kind}/new")  # the form with its errors
        page.goto(portal.team_url(f"{kind}/new"))
        page.get_by_role("button", name="Send downlink").click()
        page.wait_for_selector(".field-error")
        problems.extend(problems_on(page))

    anonymous = portal.new_context().new_page()
    for path in ("/accounts/sign-in/", "/accounts/password/reset/"):
        anonymous.goto(f"{portal.url}{path}")
        problems.extend(problems_on(anonymous))
    assert problems == []


def test_the_check_finds_help_text_written_by_hand(portal: Portal) -> None:
    """The check itself: a help text not tied to its input, and a description that names a
    missing element, are both found."""
    page = portal.new_context().new_page()
    page.set_content(
        "<form><label for=a>A</label><input id=a aria-describedby=gone>"
        "<small>Hand-written help</small><input name=b></form>"
    )
    found = page.evaluate(DESCRIPTION_PROBLEMS)
    assert any("missing #gone" in problem for problem in found), found
    assert any("without an id" in problem for problem in found), found
    assert any("b has no label" in problem for problem in found), found
