"""HTML goes out compressed to a browser that asks for it: the list page and the htmx
fragment its live refresh polls every few seconds (the bytes themselves are measured by
benchmarks/throughput.py)."""

from __future__ import annotations

import gzip

import pytest

from tests.downlinks.conftest import Dashboard, lora_body

HTMX = {"HX-Request": "true"}


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "fragment"])
def test_the_list_is_gzipped_for_a_browser_that_asks_and_plain_for_one_that_does_not(
    dash: Dashboard, headers: dict[str, str]
) -> None:
    for index in range(20):
        dash.api_create("lora", lora_body(deviceId=f"deveui:{index:016x}"))
    url = dash.url("list", "lora")

    plain = dash.viewer.get(url, headers=headers)
    packed = dash.viewer.get(url, headers={**headers, "Accept-Encoding": "gzip, deflate, br"})

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    unpacked = gzip.decompress(packed.content).decode()
    assert unpacked.count('<tr id="row-') == plain.content.decode().count('<tr id="row-') == 20
    assert len(packed.content) * 4 < len(plain.content)
