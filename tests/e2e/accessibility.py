"""axe-core over a page as it is now: its serious and critical violations, in words."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_AXE = Axe()
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


# While axe reads the page, htmx asks for nothing (a live refresh swapping rows under axe
# makes it throw); what is on its way is let in first.
HOLD_HTMX = """() => {
  if (!window.__holdHtmx) {
    document.addEventListener("htmx:confirm", (event) => {
      if (window.__holdHtmx) event.preventDefault();
    });
  }
  window.__holdHtmx = true;
}"""
RELEASE_HTMX = "() => { window.__holdHtmx = false; }"


def serious_violations(page: Page) -> list[str]:
    """One line per serious or critical violation: the rule, what it says, and where."""
    page.evaluate(HOLD_HTMX)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    try:
        results = _AXE.run(page)
    finally:
        page.evaluate(RELEASE_HTMX)
    lines = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [" ".join(node["target"]) for node in violation["nodes"]][:5]
        lines.append(f"{page.url}: {violation['id']} ({violation['help']}): {', '.join(targets)}")
    return lines
