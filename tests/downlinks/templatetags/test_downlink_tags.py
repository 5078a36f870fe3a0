"""The list's row renderer, pinned: the HTML it writes for a LoRa and an MQTT row, with text
from the API that must be escaped, made visible and isolated as `|untrusted` does; and
durations in words."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.templatetags.moments import when
from downlinks.models import Downlink
from downlinks.selectors import DownlinkRow
from downlinks.templatetags.downlink_tags import duration_in_words
from teams.models import Team
from things_api import LoraDownlink, MqttDownlink, format_simple_duration

LORA_ID = "0b7c0e8e-6a3c-4d5e-9f10-000000000001"
MQTT_ID = "0b7c0e8e-6a3c-4d5e-9f10-000000000002"


def rows_html(
    kind: str, rows: list[DownlinkRow], *, can_operate: bool = True, zone: str = "Europe/Amsterdam"
) -> str:
    context = {
        "active_team": Team(slug="ferry", name="Ferry"),
        "kind": kind,
        "can_operate": can_operate,
        "rows": rows,
    }
    with timezone.override(zone):
        return Template("{% load downlink_tags %}{% downlink_rows rows %}").render(Context(context))


def common(downlink_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": downlink_id,
        "status": "EXECUTING",
        "deviceId": "imei:350266800610993",
        "createdAt": "2026-01-10T12:00:00Z",
        "modifiedAt": "2026-01-10T12:00:05Z",
        "feedbackTimeout": "PT1H",
        **changes,
    }


def test_an_mqtt_row_with_text_from_the_api() -> None:
    downlink = MqttDownlink.model_validate(
        common(
            MQTT_ID,
            dryRun=True,
            message={"type": "text", "payload": "<b>hi</b>\u200b", "topic": "abc\u202egnp.exe"},
        )
    )
    record = Downlink(sent_by_label="ferry-\u2067operator")
    assert rows_html("mqtt", [DownlinkRow(downlink, record)]) == (
        f'<tr id="row-{MQTT_ID}" data-status="EXECUTING">\n'
        f'  <td><a href="/t/ferry/mqtt/{MQTT_ID}/"><bdi>imei:350266800610993</bdi></a>'
        ' <small class="tag">dry run</small></td>\n'
        '  <td><span class="status status-executing"><bdi>Executing</bdi></span></td>\n'
        '  <td class="payload"><bdi>“&lt;b&gt;hi&lt;/b&gt;⟨U+200B⟩”</bdi></td>\n'
        "  <td><bdi>abc⟨U+202E⟩gnp.exe</bdi></td>\n"
        '  <td><time datetime="2026-01-10T12:00:00+00:00" title="2026-01-10 12:00:00 UTC">'
        "10 Jan 13:00:00 CET</time></td>\n"
        '  <td><time datetime="2026-01-10T12:00:05+00:00" title="2026-01-10 12:00:05 UTC">'
        "10 Jan 13:00:05 CET</time></td>\n"
        "  <td><bdi>ferry-⟨U+2067⟩operator</bdi></td>\n"
        f'  <td class="actions"><a href="/t/ferry/mqtt/new?clone={MQTT_ID}">Clone</a>\n'
        f'<a href="/t/ferry/mqtt/{MQTT_ID}/cancel" class="cancel-link">Cancel</a></td>\n'
        "</tr>\n"
    )


def test_a_lora_row_from_elsewhere_for_a_viewer() -> None:
    downlink = LoraDownlink.model_validate(
        common(
            LORA_ID,
            status="DONE",
            lastFailureReason="EVICTED",
            retryCount=1,
            retryLimit=3,
            message={"payloadHex": "0102ab", "fPort": 7},
        )
    )
    assert rows_html("lora", [DownlinkRow(downlink, None)], can_operate=False) == (
        f'<tr id="row-{LORA_ID}" data-status="DONE">\n'
        f'  <td><a href="/t/ferry/lora/{LORA_ID}/"><bdi>imei:350266800610993</bdi></a></td>\n'
        '  <td><span class="status status-failed"><bdi>Failed: EVICTED</bdi></span></td>\n'
        '  <td class="payload"><bdi>0102AB (3 bytes)</bdi></td>\n'
        "  <td>7</td><td>1 of 3</td>\n"
        '  <td><time datetime="2026-01-10T12:00:00+00:00" title="2026-01-10 12:00:00 UTC">'
        "10 Jan 13:00:00 CET</time></td>\n"
        '  <td><time datetime="2026-01-10T12:00:05+00:00" title="2026-01-10 12:00:05 UTC">'
        "10 Jan 13:00:05 CET</time></td>\n"
        "  <td></td>\n"
        '  <td class="actions"></td>\n'
        "</tr>\n"
    )


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        ("PT15M", "15 minutes"),
        ("PT1H30M", "1 hour 30 minutes"),
        ("PT90M", "1 hour 30 minutes"),
        ("P1DT1H1M1S", "1 day 1 hour 1 minute 1 second"),
        ("P2D", "2 days"),
        ("PT0S", "0 seconds"),
        ("soon", "soon"),  # not a duration: shown as it came
    ],
)
def test_durations_in_words(duration: str, words: str) -> None:
    assert duration_in_words(duration) == words


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9999)))
def test_the_words_add_up_to_the_duration(duration: timedelta) -> None:
    duration = timedelta(seconds=int(duration.total_seconds()))
    words = duration_in_words(format_simple_duration(duration)).split()
    unit_seconds = {"day": 86_400, "hour": 3600, "minute": 60, "second": 1}
    total = sum(
        int(number) * unit_seconds[unit.rstrip("s")]
        for number, unit in zip(words[::2], words[1::2], strict=True)
    )
    assert total == duration.total_seconds()


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Asia/Tokyo", "America/St_Johns", "UTC"])
def test_the_rows_write_times_as_every_other_page_does(zone: str) -> None:
    """The row renderer's own `<time>` (written for speed) is `|when:"short"`'s, in any zone."""
    downlink = LoraDownlink.model_validate(
        common(LORA_ID, message={"payloadHex": "01", "fPort": 1})
    )
    row = rows_html("lora", [DownlinkRow(downlink, None)], zone=zone)
    with timezone.override(ZoneInfo(zone)):
        for moment in (downlink.created_at, downlink.modified_at):
            assert f"<td>{when(moment, 'short')}</td>" in row
