"""The chips of the filters in use: one per filter with a value, its choice in words, and a
link to the list without it that keeps the other filters and drops the list's position."""

from __future__ import annotations

from urllib.parse import parse_qs

from django import forms
from django.http import QueryDict

from core.filter_chips import POSITION, filter_chips


class Filters(forms.Form):
    person = forms.CharField(required=False, label="Person")
    action = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("sign_in", "Signed in")], label="Action"
    )
    page = forms.CharField(required=False)


def test_each_filter_in_use_is_a_chip_that_links_to_the_list_without_it() -> None:
    form = Filters(QueryDict("person=oscar&action=sign_in&page=3&cursor=abc&sort=-created"))
    chips = filter_chips(form)
    assert [(chip.label, chip.value) for chip in chips] == [
        ("Person", "oscar"),
        ("Action", "Signed in"),  # the choice in words
    ]
    # The sort is kept; the position in the list is not (the list changes).
    assert parse_qs(chips[0].without) == {"action": ["sign_in"], "sort": ["-created"]}
    assert parse_qs(chips[1].without) == {"person": ["oscar"], "sort": ["-created"]}
    assert not any(f"{name}=" in chip.without for chip in chips for name in POSITION)


def test_no_filters_no_chips() -> None:
    assert filter_chips(Filters()) == []
    assert filter_chips(Filters(QueryDict("person=&page=2"))) == []


def test_a_value_not_among_the_choices_is_shown_as_it_came() -> None:
    (chip,) = filter_chips(Filters(QueryDict("action=<b>nope</b>")))
    assert chip.value == "<b>nope</b>"  # escaped and isolated by the template (|untrusted)
