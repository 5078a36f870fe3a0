"""Reading a campaign's devices: every separator and id form, duplicates merged and said so,
what is not a device id of the campaign's kind kept with its problem, CSV columns."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.targets import TargetsError, from_csv, from_text
from things_api import equivalent_device_ids

HEX = "0123456789abcdef"


def test_ids_pasted_with_any_separator_keep_their_lines() -> None:
    targets = from_text(
        "deveui:0000000000000001, deveui:0000000000000002\n\ndeveui:0000000000000003;", "lora"
    )
    assert [(t.position, t.device_id) for t in targets.targets] == [
        (1, "deveui:0000000000000001"),
        (1, "deveui:0000000000000002"),
        (3, "deveui:0000000000000003"),
    ]


@given(st.text(alphabet=HEX, min_size=16, max_size=16), st.data())
def test_every_spelling_of_one_device_is_merged_into_the_first(
    eui: str, data: st.DataObject
) -> None:
    spellings = list(equivalent_device_ids(f"deveui:{eui}"))
    chosen = data.draw(st.lists(st.sampled_from(spellings), min_size=2, max_size=5))
    targets = from_text("\n".join(chosen), "lora")
    assert [t.device_id for t in targets.targets] == [chosen[0]]
    assert targets.merged == {chosen[0]: list(range(2, len(chosen) + 1))}
    assert targets.merged_count == len(chosen) - 1


def test_a_wrong_id_or_kind_stays_a_row_with_its_problem() -> None:
    targets = from_text(
        "deveui:00000000000000zz\nimei:350266800610993\ndeveui:0000000000000001", "lora"
    )
    problems = [t.problem for t in targets.targets]
    assert "is not a device id" in problems[0]
    assert "an MQTT device" in problems[1]
    assert "this campaign sends LoRa" in problems[1]
    assert problems[2] == ""


def test_a_csv_gives_ids_and_the_values_of_each_row() -> None:
    text = "device_id,interval\ndeveui:0000000000000001,60\ndeveui:0000000000000002,\n,5\n"
    targets = from_csv(text, "lora")
    assert targets.columns == ("interval",)
    assert [(t.device_id, t.values) for t in targets.targets] == [
        ("deveui:0000000000000001", {"interval": "60"}),
        ("deveui:0000000000000002", {}),
        ("", {"interval": "5"}),
    ]
    assert targets.targets[2].problem == "The device_id cell is empty."


@pytest.mark.parametrize("text", ["", "name,interval\nx,1\n"])
def test_a_csv_without_a_device_column_is_refused_in_words(text: str) -> None:
    with pytest.raises(TargetsError, match=r"empty|device_id"):
        from_csv(text, "lora")
