"""A topic with a bidi override, as Chromium draws it: written out (`⟨U+202E⟩`) on the list
and the detail, and the letters of the value and of the text after it drawn in reading order,
not mirrored ("abcexe.png") as the override would draw them."""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.conftest import Portal

pytestmark = pytest.mark.browser

TOPIC = "abc\u202egnp.exe"
SHOWN = "abc⟨U+202E⟩gnp.exe"
MIRRORED = "abcexe.png"  # how Chromium draws TOPIC as it is

# Every drawn character of the element, in the order of the text, with where it is drawn.
DRAWN_CHARACTERS = """
(element) => {
  const drawn = [];
  const range = document.createRange();
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let at = 0; at < node.data.length; ) {
      const size = node.data.codePointAt(at) > 0xffff ? 2 : 1;
      range.setStart(node, at);
      range.setEnd(node, at + size);
      const box = range.getBoundingClientRect();
      const char = node.data.slice(at, at + size);
      if (char.trim() && box.width > 0) drawn.push([char, box.left, box.top]);
      at += size;
    }
  }
  return drawn;
}
"""


def drawn_out_of_order(element: Locator) -> list[str]:
    """The characters drawn left of the one before them on their line: none, for text that
    is all left to right and drawn in the order it is written."""
    drawn: list[list[str | float]] = element.evaluate(DRAWN_CHARACTERS)
    assert drawn, "nothing of the element is drawn"
    backwards = []
    for (_, left_before, top_before), (char, left, top) in pairwise(drawn):
        if abs(float(top) - float(top_before)) < 1 and float(left) < float(left_before):
            backwards.append(str(char))
    return backwards


def test_a_bidi_topic_is_written_out_and_drawn_in_reading_order(portal: Portal) -> None:
    created = portal.create_via_api(
        "mqtt",
        {
            "deviceId": "imei:350266800610993",
            # The payload too: its list cell has text after the value, the closing quote.
            "message": {"type": "text", "payload": TOPIC, "topic": TOPIC},
            "feedbackTimeout": "PT1H",
        },
    )
    portal.simulator.clock.advance(60)  # DONE: the pages do not refresh themselves
    page = portal.signed_in(portal.viewer)

    page.goto(portal.team_url("mqtt/"))
    row = page.locator(f"#row-{created['id']}")
    expect(row).to_be_visible()
    text = row.inner_text()
    assert text.count(SHOWN) == 2  # the payload's summary and the topic
    assert f"“{SHOWN}”" in text
    assert MIRRORED not in text
    assert drawn_out_of_order(row.locator("td").nth(2)) == []  # the payload: “abc…exe”
    assert drawn_out_of_order(row.locator("td").nth(3)) == []  # the topic
    assert drawn_out_of_order(row) == []

    page.get_by_role("link", name="imei:350266800610993").click()
    expect(page.locator("h1")).to_contain_text("MQTT downlink to imei:350266800610993")
    topic = page.locator("dt:text-is('Topic') + dd")
    assert topic.inner_text() == SHOWN
    payload = page.locator("dt:text-is('Payload') + dd")
    assert payload.inner_text() == SHOWN
    facts = page.locator("dl.facts")
    assert MIRRORED not in facts.inner_text()
    assert drawn_out_of_order(topic) == []
    assert drawn_out_of_order(facts) == []
