"""axe-core over a page as it is now: its serious and critical violations, in words."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_AXE = Axe()
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def serious_violations(page: Page) -> list[str]:
    """One line per serious or critical violation: the rule, what it says, and where."""
    results = _AXE.run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [" ".join(node["target"]) for node in violation["nodes"]][:5]
        lines.append(f"{page.url}: {violation['id']} ({violation['help']}): {', '.join(targets)}")
    return lines
